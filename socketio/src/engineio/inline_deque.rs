//! [`InlineDeque`]: a FIFO queue whose first element lives inline.
//!
//! A connection's outbound queues mostly hold one frame at a time (an ack, an event), and hold
//! nothing while idle: keeping the first element inline means that neither case allocates, and
//! the heap part, used only while several elements wait, is released as soon as it empties.

use std::collections::VecDeque;

/// A FIFO queue holding its first element inline and the others on the heap.
#[derive(Debug)]
pub(crate) struct InlineDeque<T> {
    /// The first element; `None` only when the queue is empty.
    head: Option<T>,
    /// The elements after the first; without allocation when empty.
    rest: VecDeque<T>,
}

impl<T> Default for InlineDeque<T> {
    fn default() -> Self {
        InlineDeque {
            head: None,
            rest: VecDeque::new(),
        }
    }
}

impl<T> InlineDeque<T> {
    pub(crate) fn len(&self) -> usize {
        usize::from(self.head.is_some()) + self.rest.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.head.is_none()
    }

    pub(crate) fn push_back(&mut self, value: T) {
        if self.head.is_none() {
            self.head = Some(value);
        } else {
            self.rest.push_back(value);
        }
    }

    /// Takes the first element; the heap part is released once it empties.
    pub(crate) fn pop_front(&mut self) -> Option<T> {
        let first = self.head.take();
        self.head = self.rest.pop_front();
        if self.rest.is_empty() && self.rest.capacity() > 0 {
            self.rest = VecDeque::new();
        }
        first
    }

    pub(crate) fn front(&self) -> Option<&T> {
        self.head.as_ref()
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &T> {
        self.head.iter().chain(&self.rest)
    }

    pub(crate) fn iter_mut(&mut self) -> impl Iterator<Item = &mut T> {
        self.head.iter_mut().chain(&mut self.rest)
    }

    /// Whether the queue holds heap memory.
    #[cfg(test)]
    pub(crate) fn allocates(&self) -> bool {
        self.rest.capacity() > 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_order_and_allocates_only_beyond_one() {
        let mut queue = InlineDeque::default();
        assert!(queue.is_empty());
        queue.push_back(1);
        assert!(!queue.allocates(), "one element is inline");
        queue.push_back(2);
        queue.push_back(3);
        assert_eq!(queue.len(), 3);
        assert_eq!(queue.iter().copied().collect::<Vec<_>>(), [1, 2, 3]);
        queue.iter_mut().for_each(|v| *v *= 10);
        assert_eq!(queue.front(), Some(&10));
        assert_eq!(queue.pop_front(), Some(10));
        assert_eq!(queue.pop_front(), Some(20));
        assert!(!queue.allocates(), "released once the heap part empties");
        queue.push_back(4);
        assert_eq!(queue.pop_front(), Some(30));
        assert_eq!(queue.pop_front(), Some(4));
        assert_eq!(queue.pop_front(), None);
        assert!(queue.is_empty());
    }
}
