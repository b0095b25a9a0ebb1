//! REG-4: the daemon's security events, read back from its JSON log (`scelle serve
//! --log-format json`) as a SIEM would read them from the journal: every line one JSON object,
//! the events on target `scelle::security` with a stable `event` name and who did what.

mod daemon_support;

use base64::Engine;
use daemon_support::Daemon;
use scelle::api::protocol::Op;
use scelle::api::protocol::Reply;
use scelle::cli::client::{Client, Signer};
use serde_json::{Value, json};

#[test]
fn security_events_are_json_lines_with_stable_names() {
    let mut d = Daemon::start_with_args(&["--log-format", "json"]);

    // paul's challenge signed with olivia's key: refused.
    let mut c = Client::connect(&d.socket).unwrap();
    let Reply::Challenge {
        namespace, message, ..
    } = c
        .request(Op::Hello, json!({ "person": "paul" }), &mut |_| {})
        .unwrap()
    else {
        panic!("no challenge for paul");
    };
    let olivia = d.key("olivia");
    let olivia_pub = std::fs::read_to_string(olivia.with_extension("pub")).unwrap();
    let statement = base64::engine::general_purpose::STANDARD
        .decode(message)
        .unwrap();
    let signature = Signer::KeyFile(olivia)
        .sign(olivia_pub.trim(), &namespace, &statement)
        .unwrap();
    assert!(
        c.call(Op::Identify, json!({ "signature": signature }))
            .is_err()
    );
    // paul opens a case, then tries to approve it himself (an operator only): refused.
    let case = d.open_case("paul");
    let out = d.case("paul", &["approve", &case]);
    assert!(!out.status.success(), "paul approved his own case");
    let (st, _) = d.terminate();
    assert!(st.success(), "{st}");

    let log = d.log_text();
    let lines: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let events: Vec<&Value> = lines
        .iter()
        .filter(|l| l["target"] == "scelle::security")
        .collect();
    let find = |name: &str| -> &Value {
        events
            .iter()
            .find(|e| e["event"] == name)
            .unwrap_or_else(|| panic!("no `{name}` event in:\n{log}"))
    };
    for e in &events {
        assert!(e["timestamp"].is_string() && e["level"].is_string(), "{e}");
        assert!(e["message"].is_string(), "{e}");
    }
    assert_eq!(find("daemon-started")["level"], "INFO");
    let failed = find("identification-failed");
    assert_eq!(failed["level"], "WARN");
    assert_eq!(failed["person"], "paul");
    assert!(failed["uid"].is_u64(), "{failed}");
    assert_eq!(find("caller-identified")["person"], "paul");
    let opened = find("case-opened");
    assert_eq!(
        (&opened["person"], &opened["case"]),
        (&"paul".into(), &case.clone().into())
    );
    let refused = find("command-refused");
    assert_eq!(refused["op"], "case-approve", "{refused}");
    assert_eq!(refused["person"], "paul");
    assert!(refused["reason"].as_str().is_some_and(|r| !r.is_empty()));
    assert_eq!(find("daemon-stopped")["level"], "INFO");
    // No key material or signature in the log.
    for secret in ["BEGIN OPENSSH", "BEGIN SSH SIGNATURE"] {
        assert!(!log.contains(secret), "{secret} in the log");
    }
}
