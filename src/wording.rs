//! The words of the documents for outsiders (the delivery receipt and the register report), in
//! French and English, and how their values are spelled for people: times in the site's zone
//! and in UTC, durations, sizes, gaps, clock offsets, the camera link. Both documents take
//! them from here, so neither imports the other for a word.

use jiff::Timestamp;
use jiff::tz::TimeZone;
use scelle_adapters::{ClockOffset, Gap, GapReason};

use crate::case::Ground;

/// The language of a document.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Fr,
    En,
}

impl Lang {
    /// The language tag (`fr`, `en`).
    pub fn tag(self) -> &'static str {
        match self {
            Lang::Fr => "fr",
            Lang::En => "en",
        }
    }
}

/// `fr` or `en` by language.
pub fn tr<'a>(lang: Lang, fr: &'a str, en: &'a str) -> &'a str {
    match lang {
        Lang::Fr => fr,
        Lang::En => en,
    }
}

pub fn ground(lang: Lang, g: Ground) -> &'static str {
    match (g, lang) {
        (Ground::Requisition, Lang::Fr) => "Réquisition judiciaire",
        (Ground::Requisition, Lang::En) => "Judicial requisition",
        (Ground::Incident, Lang::Fr) => "Incident (conservation de preuve)",
        (Ground::Incident, Lang::En) => "Incident (evidence preservation)",
        (Ground::AccessRequest, Lang::Fr) => "Demande d'accès (RGPD art. 15)",
        (Ground::AccessRequest, Lang::En) => "Access request (GDPR art. 15)",
    }
}

/// `YYYY-MM-DD HH:MM:SS` in `tz`.
pub fn local(t: Timestamp, tz: &TimeZone) -> String {
    t.to_zoned(tz.clone())
        .strftime("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// `YYYY-MM-DD HH:MM:SS` in UTC.
pub fn utc(t: Timestamp) -> String {
    t.strftime("%Y-%m-%d %H:%M:%S").to_string()
}

/// A range as `START – END` in `tz`, with the zone's abbreviation.
pub fn range(start: Timestamp, end: Timestamp, tz: &TimeZone, zone_name: &str) -> String {
    format!("{} – {} ({zone_name})", local(start, tz), local(end, tz))
}

pub fn range_utc(start: Timestamp, end: Timestamp) -> String {
    format!("{} – {} (UTC)", utc(start), utc(end))
}

/// `H:MM:SS` (and milliseconds when not whole).
pub fn duration(seconds: f64) -> String {
    let ms = (seconds * 1000.0).round() as i64;
    let (s, ms) = (ms / 1000, ms % 1000);
    let base = format!("{}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60);
    if ms == 0 {
        base
    } else {
        format!("{base}.{ms:03}")
    }
}

/// Bytes with thin grouping, and the unit word.
pub fn size(lang: Lang, bytes: u64) -> String {
    let digits = bytes.to_string();
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(' ');
        }
        grouped.push(c);
    }
    format!("{grouped} {}", tr(lang, "octets", "bytes"))
}

pub fn gap_reason(lang: Lang, r: &GapReason) -> String {
    match r {
        GapReason::NotRecorded => tr(lang, "non enregistré", "not recorded").into(),
        GapReason::PacketLoss { lost_packets } => format!(
            "{} ({lost_packets})",
            tr(lang, "paquets perdus", "packets lost")
        ),
        GapReason::Discontinuity => tr(lang, "discontinuité", "discontinuity").into(),
        GapReason::ConnectionLost => tr(lang, "connexion perdue", "connection lost").into(),
        GapReason::SegmentMissing { .. } => tr(lang, "segment manquant", "segment missing").into(),
    }
}

/// Every gap on its own line, local time, duration and reason; "none" when there is none.
pub fn gaps(lang: Lang, gaps: &[Gap], tz: &TimeZone) -> String {
    if gaps.is_empty() {
        return tr(lang, "aucune", "none").into();
    }
    gaps.iter()
        .map(|g| {
            let secs = (g.end.as_millisecond() - g.start.as_millisecond()) as f64 / 1000.0;
            format!(
                "{} – {} ({}){} {}",
                local(g.start, tz),
                local(g.end, tz),
                duration(secs),
                tr(lang, " :", ":"),
                gap_reason(lang, &g.reason)
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `+1.250 s (± 0.020 s), measured YYYY-MM-DD HH:MM:SS UTC`: recorder = server + offset.
pub fn clock_offset(lang: Lang, c: Option<&ClockOffset>) -> String {
    match c {
        None => tr(lang, "non mesuré", "not measured").into(),
        Some(c) => format!(
            "{}{}.{:03} s (± {}.{:03} s), {} {} UTC",
            if c.offset_ms < 0 { "-" } else { "+" },
            c.offset_ms.unsigned_abs() / 1000,
            c.offset_ms.unsigned_abs() % 1000,
            c.uncertainty_ms / 1000,
            c.uncertainty_ms % 1000,
            tr(lang, "mesuré le", "measured"),
            utc(c.measured_at)
        ),
    }
}

/// How the link to the camera was secured: `liaison chiffrée (TLS, empreinte sha256:…)`.
pub fn link(lang: Lang, l: Option<&crate::config::LinkSecurity>) -> String {
    let Some(l) = l else {
        return tr(lang, "non indiquée", "not stated").into();
    };
    let mut s = match (l.transport.as_str(), &l.pin, &l.ca_file) {
        ("local", _, _) => tr(
            lang,
            "dossier local (pas de liaison réseau)",
            "local folder (no network link)",
        )
        .to_string(),
        ("tls", Some(pin), _) => format!(
            "{} {pin})",
            tr(
                lang,
                "liaison chiffrée (TLS, empreinte",
                "encrypted link (TLS, fingerprint"
            )
        ),
        ("tls", None, Some(ca)) => format!(
            "{} {ca})",
            tr(
                lang,
                "liaison chiffrée (TLS, autorité",
                "encrypted link (TLS, CA"
            )
        ),
        _ => tr(lang, "liaison NON chiffrée", "UNENCRYPTED link").to_string(),
    };
    if let Some(r) = &l.unencrypted_reason {
        s.push_str(&format!(
            "{} {r}",
            tr(lang, " ; exception :", "; exception:")
        ));
    }
    if let Some(r) = &l.basic_reason {
        s.push_str(&format!(
            "{} {r}",
            tr(
                lang,
                " ; authentification Basic admise :",
                "; Basic authentication allowed:"
            )
        ));
    }
    s
}

/// How a file of an access-request export was anonymized (DEL-2), for people: the receipt and
/// the register report. `a` is the file's `anonymized` record (`crate::export::Anonymized`).
pub fn anonymized(lang: Lang, a: &serde_json::Value) -> String {
    let n = |k: &str| a[k].as_u64().unwrap_or(0);
    let s = |k: &str| a[k].as_str().unwrap_or("?").to_owned();
    let kept = match a["kept_track"].as_u64() {
        Some(t) => match lang {
            Lang::Fr => format!("visage du demandeur (piste {t}) laissé visible"),
            Lang::En => format!("the requester's face (track {t}) left visible"),
        },
        None => tr(lang, "tous les visages floutés", "every face blurred").to_owned(),
    };
    let threshold = a["params"]["threshold"].as_f64().unwrap_or(0.0);
    match lang {
        Lang::Fr => format!(
            "ANONYMISÉ — visages des tiers floutés (pixellisation et flou, irréversibles) : {} \
             piste(s) de visage sur {} floutée(s), {kept}, choix confirmé par {} ; son supprimé \
             (voix des tiers) ; {} images traitées ; détecteur {} (modèle SHA-256 {}, seuil \
             {threshold:.2}) ; visionnage sur place impossible : {}",
            n("tracks_blurred"),
            n("tracks_found"),
            s("confirmed_by"),
            n("frames"),
            s("detector"),
            s("model_sha256"),
            s("no_viewing_reason"),
        ),
        Lang::En => format!(
            "ANONYMIZED — third parties' faces blurred (pixelation and blur, irreversible): {} \
             face track(s) of {} blurred, {kept}, choice confirmed by {}; audio removed \
             (third parties' voices); {} frames processed; detector {} (model SHA-256 {}, \
             threshold {threshold:.2}); on-site viewing not possible: {}",
            n("tracks_blurred"),
            n("tracks_found"),
            s("confirmed_by"),
            n("frames"),
            s("detector"),
            s("model_sha256"),
            s("no_viewing_reason"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_spelled_for_people() {
        assert_eq!(duration(1800.0), "0:30:00");
        assert_eq!(duration(3725.5), "1:02:05.500");
        assert_eq!(size(Lang::Fr, 1234567), "1 234 567 octets");
        assert_eq!(size(Lang::En, 12), "12 bytes");
    }
}
