//! Each way an ONVIF device can fail gives a clear, typed error: a SOAP fault, no answer,
//! wrong credentials (WS-Security and HTTP Digest), a clock so far off the token is refused,
//! malformed XML, and nobody listening.

mod onvif_endpoint;

use std::time::Duration;

use onvif_endpoint::{Endpoint, Options};
use scelle_adapters::credentials::Credentials;
use scelle_adapters::onvif::{OnvifClient, OnvifConfig, OnvifSource};
use scelle_adapters::{Error, Source, TimeRange};

fn config(url: &str, password: &str) -> OnvifConfig {
    let mut c = OnvifConfig::new(url, Some(Credentials::new("scelle", password)));
    c.timeout = Duration::from_millis(800);
    c
}

fn range() -> TimeRange {
    TimeRange {
        start: "2026-11-23T08:25:00Z".parse().unwrap(),
        end: "2026-11-23T08:35:00Z".parse().unwrap(),
    }
}

#[tokio::test]
async fn a_soap_fault_is_a_typed_error() {
    let ep = Endpoint::start(Options {
        fault_on: Some("GetReplayUri"),
        ..Options::default()
    })
    .await;
    let source = OnvifSource::new(config(&ep.url, "c0rrect-h0rse"), None).unwrap();
    let err = source.replay_uri(range()).await.unwrap_err();
    match &err {
        Error::Fault {
            operation,
            code,
            subcode,
            reason,
            target,
        } => {
            assert_eq!(operation, "GetReplayUri");
            assert_eq!(code, "Sender");
            assert_eq!(subcode.as_deref(), Some("NoRecording"));
            assert!(reason.contains("does not exist"));
            assert!(target.ends_with("/onvif/replay_service"), "{target}");
        }
        e => panic!("expected a fault, got {e:?}"),
    }
    let msg = err.to_string();
    assert!(
        msg.contains("GetReplayUri") && msg.contains("NoRecording"),
        "{msg}"
    );
}

#[tokio::test]
async fn a_device_that_does_not_answer_times_out() {
    let ep = Endpoint::start(Options {
        hang_on: Some("GetDeviceInformation"),
        ..Options::default()
    })
    .await;
    let source = OnvifSource::new(config(&ep.url, "c0rrect-h0rse"), None).unwrap();
    let err = source.describe().await.unwrap_err();
    assert!(
        matches!(&err, Error::Timeout { what, .. } if what == "GetDeviceInformation"),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("did not answer GetDeviceInformation in time"),
        "{err}"
    );
}

#[tokio::test]
async fn wrong_credentials_are_an_auth_error_without_the_password() {
    let ep = Endpoint::start(Options::default()).await;
    let source = OnvifSource::new(config(&ep.url, "wrong-password"), None).unwrap();
    let err = source.describe().await.unwrap_err();
    assert!(
        matches!(&err, Error::Auth { method, .. } if method == "GetDeviceInformation"),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains("check the camera's user and password") && !msg.contains("wrong-password"),
        "{msg}"
    );

    // Same with HTTP Digest: the device challenges, refuses the answer, scelle stops.
    let ep = Endpoint::start(Options {
        http_digest: true,
        ..Options::default()
    })
    .await;
    let source = OnvifSource::new(config(&ep.url, "wrong-password"), None).unwrap();
    let err = source.describe().await.unwrap_err();
    assert!(matches!(err, Error::Auth { .. }), "{err:?}");
}

#[tokio::test]
async fn created_on_the_server_clock_is_refused_by_a_late_device() {
    // Without measuring the device clock first, Created is 180 s off the device's clock:
    // the device refuses the token, which shows why the offset is applied.
    let ep = Endpoint::start(Options::default()).await;
    let client = OnvifClient::new(config(&ep.url, "c0rrect-h0rse")).unwrap();
    let err = client.device_information().await.unwrap_err();
    assert!(matches!(err, Error::Auth { .. }), "{err:?}");
    let skew = ep.seen.lock().unwrap()[0].created_skew_ms.unwrap();
    assert!((skew - 180_000).abs() < 2_000, "{skew}");
    client.measure_clock().await.unwrap();
    client.device_information().await.unwrap();
}

#[tokio::test]
async fn malformed_xml_is_a_protocol_error() {
    let ep = Endpoint::start(Options {
        malformed_on: Some("GetRecordingSearchResults"),
        ..Options::default()
    })
    .await;
    let source = OnvifSource::new(config(&ep.url, "c0rrect-h0rse"), None).unwrap();
    let err = source.plan(range()).await.unwrap_err();
    match &err {
        Error::Protocol { message, .. } => {
            assert!(
                message.starts_with("GetRecordingSearchResults response:"),
                "{message}"
            );
        }
        e => panic!("expected a protocol error, got {e:?}"),
    }
    // The search was still released.
    assert!(ep.operations().contains(&"EndSearch".to_string()));
}

#[tokio::test]
async fn nobody_listening_is_a_connect_error() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}/onvif/device_service");
    let source = OnvifSource::new(config(&url, "x"), None).unwrap();
    let err = source.clock_offset().await.unwrap_err();
    assert!(matches!(err, Error::Connect { .. }), "{err:?}");
}

#[tokio::test]
async fn credentials_in_the_device_url_are_refused() {
    let err = OnvifClient::new(OnvifConfig::new(
        "http://admin:pw@127.0.0.1/onvif/device_service",
        None,
    ))
    .err()
    .unwrap();
    assert!(!err.to_string().contains("pw@"), "{err}");
}
