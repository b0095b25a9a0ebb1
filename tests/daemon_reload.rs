//! Configuration reload while running, and what open connections see on shutdown.

mod daemon_support;

use std::io::{BufRead, BufReader};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use daemon_support::{Daemon, account, config_text, keygen};

fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let t = Instant::now();
    while !f() {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_valid_change_takes_effect_and_is_recorded_an_invalid_one_is_refused() {
    let d = Daemon::start();
    let before = d.register_len();
    let key = keygen(&d.dir.path().join("zoe"));
    let zoe = format!(
        "[[person]]\nid = \"zoe\"\nname = \"Zoé Test\"\nunix_account = \"{}\"\n\
         roles = [\"authorizer\"]\npublic_key = \"{key}\"\n",
        account()
    );
    // Replace the file the way configuration tools do: write aside, rename over.
    let aside = d.dir.path().join("scelle.toml.new");
    std::fs::write(&aside, config_text(d.dir.path(), &zoe)).unwrap();
    std::fs::rename(&aside, &d.config).unwrap();
    eventually("zoe to be known", || {
        d.case("zoe", &["list"]).status.success()
    });
    // The people change and the configuration change (its SHA-256) are both recorded.
    assert_eq!(
        d.register_len(),
        before + 2,
        "people and config changes not recorded"
    );
    assert!(d.log_text().contains("configuration reloaded"));

    // An invalid file is refused; the configuration in force stays.
    std::fs::write(&d.config, "[site]\nname = 3\n").unwrap();
    eventually("the refusal to be logged", || {
        d.log_text().contains("configuration change refused")
    });
    assert!(d.log_text().contains("scelle.toml:2:8"), "{}", d.log_text());
    assert!(d.case("zoe", &["list"]).status.success());
    assert_eq!(d.register_len(), before + 2);
}

#[test]
fn sigterm_tells_open_connections_and_exits_zero_within_ten_seconds() {
    let mut d = Daemon::start();
    let stream = UnixStream::connect(&d.socket).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut reader = BufReader::new(stream);
    std::thread::sleep(Duration::from_millis(100));
    let (status, took) = d.terminate();
    assert_eq!(status.code(), Some(0));
    assert!(took < Duration::from_secs(10), "{took:?}");
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    assert!(line.contains("shutting-down"), "{line}");
}
