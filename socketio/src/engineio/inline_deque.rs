//! [`InlineDeque`]: a FIFO queue whose first element lives inline.
//!
//! A connection's outbound queues mostly hold one frame at a time (an ack, an event), and hold
//! nothing while idle: keeping the first element inline means that neither case allocates. The
//! heap part, used only while several elements wait (a few broadcasts arriving while the writer
//! runs), is kept once it empties while it is small, so that such bursts cost no allocation
//! and free each, and released when a backlog left it large.

use std::collections::VecDeque;

/// The largest heap part, in elements, kept once it empties: a few hundred bytes at most for a
/// connection that has seen bursts; one that only ever had one frame at a time keeps none.
const KEPT: usize = 8;

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

    /// Takes the first element; a large heap part is released once it empties.
    pub(crate) fn pop_front(&mut self) -> Option<T> {
        if self.rest.is_empty() {
            // The usual case, one element at a time: nothing moves up. (A heap part left
            // empty was checked for its size by the pop that emptied it.)
            return self.head.take();
        }
        let first = std::mem::replace(&mut self.head, self.rest.pop_front());
        if self.rest.is_empty() && self.rest.capacity() > KEPT {
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
        assert!(
            queue.allocates(),
            "a small heap part is kept for the next burst"
        );
        queue.push_back(4);
        assert_eq!(queue.pop_front(), Some(30));
        assert_eq!(queue.pop_front(), Some(4));
        assert_eq!(queue.pop_front(), None);
        assert!(queue.is_empty());
    }

    #[test]
    fn a_large_heap_part_is_released() {
        let mut queue = InlineDeque::default();
        (0..=2 * KEPT).for_each(|v| queue.push_back(v));
        while queue.pop_front().is_some() {}
        assert!(!queue.allocates());
    }
}
