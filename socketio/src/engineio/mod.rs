//! Engine.IO v4
