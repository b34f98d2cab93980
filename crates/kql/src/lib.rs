//! KQL for Eddy: the lexer, the parser (queries and management commands, with source
//! spans on every node) and the planner that lowers a query straight to a DataFusion
//! `LogicalPlan`.
//!
//! ```text
//!  text ──lexer──▶ tokens ──parser──▶ ast::Query ──plan::Planner──▶ LogicalPlan
//!                                  └─▶ command::Command (executed by the explorer)
//! ```
//!
//! Invariants: parsing never panics on input; every error carries the span it is about
//! (see [`error::KqlError::describe`]); Kusto's generated column names (`count_`,
//! `avg_X`, `Column1`, `print_0`) are decided in `plan/naming.rs` only.

pub mod ast;
pub mod command;
pub mod error;
pub mod lexer;
pub mod parser;
pub mod plan;
pub mod types;
pub mod values;

pub use error::{KqlError, Result};
pub use parser::{parse, parse_command, parse_command_pipe, parse_query, Script};
