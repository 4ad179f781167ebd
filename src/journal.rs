//! State files.
