//! Body of the `receipt_render` fuzz target, shared with `tests/fuzz_corpus.rs` (which replays
//! the saved corpus through it under plain `cargo test`), so both exercise the same code.

use scelle::case::Ground;
use scelle::case::model::Opening;
use scelle::case::ExportRecord;
use scelle::receipt::{Lang, Receipt, render};

/// Runs one input: any export record that deserializes renders to a PDF without panicking.
pub fn run(data: &[u8]) {
    let Ok(record) = serde_json::from_slice::<ExportRecord>(data) else {
        return;
    };
    let opening = Opening {
        ground: Ground::Requisition,
        requester: record.operator.clone(),
        organisation: record.site_name.clone(),
        reference: record.case_reference.clone(),
        recipient: record.export_id.clone(),
        purpose: record.time_zone.clone(),
        cameras: Vec::new(),
        ranges: Vec::new(),
        emergency: None,
    };
    let r = Receipt {
        case_id: record.case_id.clone(),
        opening,
        handover_at: record.finished_at,
        handed_over_by: (record.operator.clone(), record.site_name.clone()),
        register_head: record.register_head,
        record,
        completed_seq: 1,
        entries: Vec::new(),
    };
    let pdf = render(&r, Lang::Fr);
    assert!(pdf.starts_with(b"%PDF-"));
}
