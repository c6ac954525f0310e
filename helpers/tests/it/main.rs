//! The integration tests, one binary. Modules:
//!
//! * `window_props`: property tests of the window engine against a naive reference.
mod window_props;
