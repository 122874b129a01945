//! The audit crate's behaviour seen from outside: entries written by earlier builds still verify, and entries export as
//! valid R4 AuditEvents shaped as IHE BALP.

mod balp;
mod compatibility;
