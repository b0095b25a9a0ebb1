//! Fuzzes the delivery receipt's layout on arbitrary export records (JSON, as the register's
//! `export-completed` entries carry them): any record that deserializes must render to a PDF
//! without panicking — long names, thousands of gaps, odd times, any Unicode, any "SHA-256".
#![no_main]

use libfuzzer_sys::fuzz_target;
use scelle::case::Ground;
use scelle::case::model::Opening;
use scelle::export::ExportRecord;
use scelle::receipt::{Lang, Receipt, render};

fuzz_target!(|data: &[u8]| {
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
        record,
        completed_seq: 1,
    };
    let pdf = render(&r, Lang::Fr);
    assert!(pdf.starts_with(b"%PDF-"));
});
