//! The register as an auditor reads it (REG-1, REG-2): one row per case, built from its
//! entries, rendered as CSV, JSON or PDF with French or English headings.
