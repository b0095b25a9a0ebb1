//! Four eyes that hold (issue 14), tried the way a careless or hostile team would, through the
//! real daemon, the real CLI and a real `ssh-keygen`: the approver exporting, an emergency
//! exported before approval, the same key twice in the people list, a reserved id, remote
//! approval with a key the daemon's machine never sees (and statements past their expiry, for
//! another case, in another namespace), and a relay planted between the CLI and the daemon
//! that tries to get the authorizer's CLI to sign what the authorizer did not ask for.

mod daemon_support;

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::Command;

use daemon_support::{BIN, Daemon, keygen, stderr};
use scelle::register::{EntryKind, Register};

/// The authorizer's own laptop: a key made in a folder the daemon never reads.
struct Laptop {
    _dir: tempfile::TempDir,
    key: PathBuf,
    public: String,
}

fn laptop() -> Laptop {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("remi");
    let public = keygen(&key);
    Laptop {
        _dir: dir,
        key,
        public,
    }
}

/// A daemon whose people list also names `remi`, an authorizer off site (no Unix account
/// here), by the public half of the laptop's key.
fn with_remote_authorizer(l: &Laptop) -> Daemon {
    Daemon::start_with(&format!(
        "[[person]]\nid = \"remi\"\nname = \"Rémi Distant\"\nunix_account = \"remi-nowhere\"\n\
         roles = [\"authorizer\"]\npublic_key = \"{}\"\n",
        l.public
    ))
}

/// `ssh-keygen -Y sign -n NAMESPACE -f KEY FILE`, a separate process; returns `FILE.sig`.
fn ssh_sign(key: &Path, namespace: &str, file: &Path) -> PathBuf {
    let st = Command::new("ssh-keygen")
        .args(["-q", "-Y", "sign", "-n", namespace, "-f"])
        .arg(key)
        .arg(file)
        .status()
        .unwrap();
    assert!(st.success(), "ssh-keygen -Y sign failed");
    PathBuf::from(format!("{}.sig", file.display()))
}

fn kinds(d: &Daemon, case: &str) -> Vec<EntryKind> {
    Register::open_read_only(&d.register_path())
        .unwrap()
        .entries(Some(case))
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect()
}

fn refused(d: &Daemon, person: &str, args: &[&str], needle: &str) {
    let before = d.register_len();
    let out = d.case(person, args);
    assert!(!out.status.success(), "{args:?} as {person} was allowed");
    assert!(
        stderr(&out).contains(needle),
        "{args:?} as {person}: expected `{needle}` in: {}",
        stderr(&out)
    );
    assert_eq!(d.register_len(), before, "a refusal changed the register");
}

#[test]
fn the_approver_never_exports_and_an_emergency_waits_for_its_approval() {
    let d = Daemon::start();
    // paul opens an emergency: exportable before its written request, never before approval.
    let v = d.case_json(
        "paul",
        &[
            "open",
            "--ground",
            "incident",
            "--requester",
            "Mme Durand",
            "--organisation",
            "Magasin",
            "--reference",
            "INC-9",
            "--recipient",
            "Assureur",
            "--purpose",
            "Préserver avant purge",
            "--camera",
            "entree",
            "--range",
            "2026-11-20T09:00/2026-11-20T09:15",
            "--emergency",
            "purge automatique dans 2 h",
        ],
    );
    let id = v["case"]["id"].as_str().unwrap().to_owned();
    refused(&d, "paul", &["export", &id], "is not authorized");
    refused(&d, "olivia", &["export", &id], "emergencies included");

    // olivia holds both roles: she approves paul's case…
    let v = d.case_json("olivia", &["approve", &id]);
    assert_eq!(v["case"]["authorized_by"], "olivia");
    // … and so never exports it (AUTH-2 applies to the person, not the role).
    refused(&d, "olivia", &["export", &id], "cannot also export it");
    // paul may (the written request may still follow: emergency).
    let out = d.case("paul", &["export", &id]);
    // Without `--to` the command is the check alone: it passed, so status 0, and it says
    // that nothing was exported and what to type (issue 22).
    let said = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{said}{}", stderr(&out));
    assert!(
        said.contains("may be exported now: nothing was exported"),
        "{said}"
    );
    assert!(
        said.contains(&format!("scelle case export {id} --to ")),
        "{said}"
    );
    // The refusals reached the security journal with their reason.
    let log = d.log_text();
    assert!(
        log.lines().any(|l| l.contains("command refused")
            && l.contains("person=\"olivia\"")
            && l.contains("cannot also export")),
        "{log}"
    );
}

#[test]
fn remote_approval_with_ssh_keygen_and_a_key_the_site_never_sees() {
    let l = laptop();
    let d = with_remote_authorizer(&l);
    let a = d.open_case("paul");
    let b = d.open_case("paul");

    // Anyone prints the statement; it names the site key, the case and its case-opened hash.
    let out = d.case("paul", &["approve", &a, "--print-statement"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with("scelle approval v1\nsite: SHA256:"),
        "{text}"
    );
    assert!(text.contains(&format!("\ncase: {a}\n")), "{text}");
    let opened = Register::open_read_only(&d.register_path())
        .unwrap()
        .entries(Some(&a))
        .unwrap()[0]
        .hash;
    assert!(
        text.contains(&format!("\ncase-opened: {}\n", hex::encode(opened))),
        "{text}"
    );
    let work = d.dir.path().join("mail");
    std::fs::create_dir_all(&work).unwrap();
    let stmt_a = work.join("approve-a.txt");
    std::fs::write(&stmt_a, &text).unwrap();

    // Signed in the wrong namespace: refused and said.
    let wrong = work.join("wrong-ns.txt");
    std::fs::write(&wrong, &text).unwrap();
    let sig = ssh_sign(&l.key, "scelle-identify", &wrong);
    refused(
        &d,
        "paul",
        &["approve", &a, "--signature", sig.to_str().unwrap()],
        "namespace",
    );
    std::thread::sleep(std::time::Duration::from_millis(100));
    assert!(
        d.log_text()
            .lines()
            .any(|l| l.contains("signature refused") && l.contains("person=\"paul\"")),
        "{}",
        d.log_text()
    );

    // Past its expiry (the line rewritten, then signed by the real key): refused.
    let expired = work.join("expired.txt");
    let old = text
        .lines()
        .map(|l| {
            if l.starts_with("expires: ") {
                "expires: 2020-01-01T00:00:00Z".to_owned()
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n";
    std::fs::write(&expired, old).unwrap();
    let sig = ssh_sign(&l.key, "scelle-approve", &expired);
    refused(
        &d,
        "paul",
        &["approve", &a, "--signature", sig.to_str().unwrap()],
        "expired",
    );

    // The statement of case B submitted for case A: refused.
    let out = d.case("paul", &["approve", &b, "--print-statement"]);
    let stmt_b = work.join("approve-b.txt");
    std::fs::write(&stmt_b, out.stdout).unwrap();
    let sig_b = ssh_sign(&l.key, "scelle-approve", &stmt_b);
    refused(
        &d,
        "paul",
        &[
            "approve",
            &a,
            "--signature",
            sig_b.to_str().unwrap(),
            "--statement",
            stmt_b.to_str().unwrap(),
        ],
        "not the approval statement of case",
    );

    // Signed by a key nobody listed: refused.
    let stranger = work.join("stranger");
    keygen(&stranger);
    let s = work.join("stranger.txt");
    std::fs::write(&s, &text).unwrap();
    let sig = ssh_sign(&stranger, "scelle-approve", &s);
    refused(
        &d,
        "paul",
        &["approve", &a, "--signature", sig.to_str().unwrap()],
        "not in the people list",
    );

    // The real thing: signed on the laptop, submitted on site by paul (the opener).
    let sig = ssh_sign(&l.key, "scelle-approve", &stmt_a);
    let v = d.case_json(
        "paul",
        &["approve", &a, "--signature", sig.to_str().unwrap()],
    );
    assert_eq!(v["case"]["authorized_by"], "remi", "{v}");
    let reg = Register::open_read_only(&d.register_path()).unwrap();
    let e = reg
        .entries(Some(&a))
        .unwrap()
        .into_iter()
        .find(|e| e.kind == EntryKind::CaseAuthorized)
        .unwrap();
    assert_eq!(e.actor, "scelle");
    assert_eq!(e.payload["case_opened"], hex::encode(opened));
    let signed = &e.payload["signed_statement"];
    assert_eq!(signed["person"], "remi");
    assert_eq!(signed["namespace"], "scelle-approve");
    assert_eq!(signed["text"], text.as_str());
    // An auditor checks it with ssh-keygen alone.
    let allowed = work.join("allowed_signers");
    std::fs::write(&allowed, format!("remi {}\n", l.public)).unwrap();
    let sigfile = work.join("stored.sig");
    std::fs::write(&sigfile, signed["signature"].as_str().unwrap()).unwrap();
    let mut verify = Command::new("ssh-keygen")
        .args(["-Y", "verify", "-n", "scelle-approve", "-I", "remi", "-f"])
        .arg(&allowed)
        .arg("-s")
        .arg(&sigfile)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    verify
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    assert!(verify.wait().unwrap().success());
    // A second approval with the same statement: refused (already authorized).
    refused(
        &d,
        "paul",
        &["approve", &a, "--signature", sig.to_str().unwrap()],
        "already authorized",
    );
    assert!(
        kinds(&d, &b)
            .iter()
            .all(|k| *k != EntryKind::CaseAuthorized)
    );
}

fn serve_once(config: &Path) -> (bool, String) {
    let out = Command::new(BIN)
        .args(["serve", "--config"])
        .arg(config)
        .env_remove("NOTIFY_SOCKET")
        .env_remove("WATCHDOG_USEC")
        .output()
        .unwrap();
    (out.status.success(), stderr(&out))
}

#[test]
fn the_same_key_twice_or_a_reserved_id_is_refused_at_start_and_reload() {
    let d = Daemon::start();
    let text = std::fs::read_to_string(&d.config).unwrap();
    let paul_key = std::fs::read_to_string(d.key("paul").with_extension("pub")).unwrap();
    // A second person with paul's key (another comment): one person passing as two.
    let twin = format!(
        "{text}\n[[person]]\nid = \"paul-bis\"\nname = \"Paul Bis\"\nunix_account = \"x\"\n\
         roles = [\"authorizer\"]\npublic_key = \"{} autre\"\n",
        paul_key.trim().rsplit_once(' ').unwrap().0
    );
    let dup = d.dir.path().join("dup.toml");
    std::fs::write(&dup, &twin).unwrap();
    let (ok, err) = serve_once(&dup);
    assert!(!ok);
    let line = twin
        .lines()
        .position(|l| l.starts_with("public_key") && l.ends_with(" autre\""))
        .unwrap()
        + 1;
    assert!(
        err.contains(&format!(
            "dup.toml:{line}:14: person `paul-bis` has the same public key as `paul`"
        )),
        "{err}"
    );

    // A person called `scelle` (the daemon's own actor name).
    let reserved = text.replacen("id = \"arthur\"", "id = \"scelle\"", 1);
    let res = d.dir.path().join("reserved.toml");
    std::fs::write(&res, &reserved).unwrap();
    let (ok, err) = serve_once(&res);
    assert!(!ok);
    assert!(err.contains("reserved id"), "{err}");

    // Reload with the twin: refused, the list in force is kept.
    let before = d.register_len();
    std::fs::write(&d.config, &twin).unwrap();
    let t = std::time::Instant::now();
    while !d.log_text().contains("same public key") {
        assert!(
            t.elapsed().as_secs() < 15,
            "reload not refused:\n{}",
            d.log_text()
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(d.register_len(), before, "the refused list was recorded");
    d.case_json("arthur", &["list"]);
}

#[test]
fn an_empty_people_list_with_cases_open_is_refused() {
    let d = Daemon::start();
    d.open_case("paul");
    let text = std::fs::read_to_string(&d.config).unwrap();
    let first = text.find("[[person]]").unwrap();
    let after = text[first..].find("[[camera]]").unwrap() + first;
    let empty = format!("{}{}", &text[..first], &text[after..]);
    let before = d.register_len();
    std::fs::write(&d.config, &empty).unwrap();
    let t = std::time::Instant::now();
    while !d.log_text().contains("people list is empty") {
        assert!(
            t.elapsed().as_secs() < 15,
            "reload not refused:\n{}",
            d.log_text()
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(d.register_len(), before);
}

/// A relay planted where `SCELLE_SOCKET` points: forwards every line between the CLI and the
/// real daemon, rewriting the CLI's requests with `rewrite`.
fn relay(
    daemon: PathBuf,
    at: PathBuf,
    rewrite: impl Fn(serde_json::Value) -> serde_json::Value + Send + 'static,
) -> std::thread::JoinHandle<()> {
    let listener = UnixListener::bind(&at).unwrap();
    std::thread::spawn(move || {
        for client in listener.incoming().take(1) {
            let client = client.unwrap();
            let up = UnixStream::connect(&daemon).unwrap();
            let (mut up_w, up_r) = (up.try_clone().unwrap(), up);
            let mut client_w = client.try_clone().unwrap();
            let down = std::thread::spawn(move || {
                for line in BufReader::new(up_r).lines() {
                    let Ok(line) = line else { break };
                    if client_w.write_all(format!("{line}\n").as_bytes()).is_err() {
                        break;
                    }
                }
            });
            for line in BufReader::new(client).lines() {
                let Ok(line) = line else { break };
                let v: serde_json::Value = serde_json::from_str(&line).unwrap();
                let v = rewrite(v);
                if up_w.write_all(format!("{v}\n").as_bytes()).is_err() {
                    break;
                }
            }
            let _ = up_w.shutdown(std::net::Shutdown::Both);
            let _ = down.join();
        }
    })
}

/// `scelle case ARGS` as arthur (key file, `--yes`) through the socket at `at`.
fn as_arthur_through(d: &Daemon, at: &Path, args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .args(["case", "--socket"])
        .arg(at)
        .args(["--as", "arthur", "-i"])
        .arg(d.key("arthur"))
        .arg("--yes")
        .env("SCELLE_KNOWN_SITES", d.dir.path().join("known_sites"))
        .env_remove("SSH_AUTH_SOCK")
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn a_relay_cannot_get_the_authorizers_cli_to_sign_what_was_not_asked() {
    let d = Daemon::start();
    let mine = d.open_case("paul");
    let theirs = d.open_case("paul");

    // arthur types `case show MINE`; the relay turns it into `case-approve THEIRS`.
    let at = d.dir.path().join("relay1.sock");
    let t = theirs.clone();
    let r = relay(d.socket.clone(), at.clone(), move |mut v| {
        if v["op"] == "case-show" {
            v["op"] = "case-approve".into();
            v["args"]["case"] = t.clone().into();
        }
        v
    });
    let out = as_arthur_through(&d, &at, &["show", &mine]);
    r.join().unwrap();
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("refused to sign") && stderr(&out).contains("scelle-approve"),
        "{}",
        stderr(&out)
    );

    // arthur types `case approve MINE --yes`; the relay swaps in the other case.
    let at = d.dir.path().join("relay2.sock");
    let t = theirs.clone();
    let r = relay(d.socket.clone(), at.clone(), move |mut v| {
        if v["op"] == "case-approve" {
            v["args"]["case"] = t.clone().into();
        }
        v
    });
    let out = as_arthur_through(&d, &at, &["approve", &mine]);
    r.join().unwrap();
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains(&format!(
            "the statement is for case {theirs}, you asked for case {mine}"
        )),
        "{}",
        stderr(&out)
    );

    // The relay answers `hello` with an approval statement dressed as a challenge.
    let at = d.dir.path().join("relay3.sock");
    let fake = UnixListener::bind(&at).unwrap();
    let statement = d
        .case("paul", &["approve", &theirs, "--print-statement"])
        .stdout;
    let liar = std::thread::spawn(move || {
        use base64::Engine;
        let (conn, _) = fake.accept().unwrap();
        let mut w = conn.try_clone().unwrap();
        let mut line = String::new();
        BufReader::new(conn).read_line(&mut line).unwrap();
        let reply = serde_json::json!({"status": "challenge", "v": 1, "id": 1,
            "person": "arthur", "public_key": "x", "namespace": "scelle-identify",
            "message": base64::engine::general_purpose::STANDARD.encode(&statement)});
        w.write_all(format!("{reply}\n").as_bytes()).unwrap();
    });
    let out = as_arthur_through(&d, &at, &["list"]);
    liar.join().unwrap();
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("not of the documented form"),
        "{}",
        stderr(&out)
    );

    // Neither case was authorized.
    for c in [&mine, &theirs] {
        assert!(
            !kinds(&d, c).contains(&EntryKind::CaseAuthorized),
            "case {c} was authorized through the relay"
        );
    }
}

#[test]
fn reading_needs_a_role_and_a_changed_site_key_is_refused() {
    // nina is listed (on the tests' Unix account) but holds no role.
    let l = laptop();
    let d = Daemon::start_with(&format!(
        "[[person]]\nid = \"nina\"\nname = \"Nina\"\nunix_account = \"{}\"\n\
         roles = []\npublic_key = \"{}\"\n",
        daemon_support::account(),
        l.public
    ));
    let nina = |command: &str, args: &[&str]| {
        Command::new(BIN)
            .arg(command)
            .arg("--socket")
            .arg(&d.socket)
            .args(["--as", "nina", "-i"])
            .arg(&l.key)
            .env("SCELLE_KNOWN_SITES", d.dir.path().join("known_sites"))
            .env_remove("SSH_AUTH_SOCK")
            .args(args)
            .output()
            .unwrap()
    };
    for (command, args) in [
        ("case", &["list"][..]),
        ("camera", &["list"][..]),
        ("purge", &["list"][..]),
        ("media", &["list"][..]),
    ] {
        let out = nina(command, args);
        assert!(!out.status.success(), "{command} {args:?} allowed");
        assert!(
            stderr(&out).contains("reading is for operator or authorizer or auditor"),
            "{command}: {}",
            stderr(&out)
        );
    }

    // arthur's known_sites names another key for this socket: refused before anything.
    let pins = d.dir.path().join("known_sites");
    let text = std::fs::read_to_string(&pins).unwrap();
    assert!(text.contains(&d.socket.display().to_string()), "{text}");
    std::fs::write(
        &pins,
        format!(
            "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA {}\n",
            d.socket.display()
        ),
    )
    .unwrap();
    let out = d.case("arthur", &["list"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("HAS CHANGED"), "{}", stderr(&out));
}
