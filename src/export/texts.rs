//! The plain instructions written next to the sealed files: `LISEZMOI.txt` (French) and
//! `README.txt` (English). They tell the recipient how to check the SHA-256 of each file and how
//! to open it. No personal data: no case details, no names, no times of footage — only file
//! names, sizes and hashes, which reveal nothing without the password.

use super::record::FileDigest;

fn list(files: &[FileDigest]) -> String {
    files
        .iter()
        .map(|f| format!("{}  {}\n", f.sha256, f.name))
        .collect()
}

/// `LISEZMOI.txt`.
pub fn lisezmoi(files: &[FileDigest]) -> String {
    format!(
        "Scellés numériques produits par scelle\n\
         ======================================\n\n\
         Ce dossier contient des fichiers chiffrés (AES-256-GCM) : les vidéos (*.mp4.scelle)\n\
         et leur manifeste (manifest.json.scelle). Le mot de passe vous est transmis par un\n\
         autre canal que ce support.\n\n\
         1. Vérifier l'intégrité (sans mot de passe)\n\
         \x20  Dans ce dossier, lancez :  sha256sum -c SHA256SUMS.txt\n\
         \x20  ou comparez le résultat de `sha256sum FICHIER` avec la liste ci-dessous.\n\n\
         2. Ouvrir un fichier\n\
         \x20  scelle open FICHIER.mp4.scelle -o FICHIER.mp4   (le mot de passe est demandé)\n\
         \x20  `scelle verify FICHIER --sha256 EMPREINTE` vérifie aussi chaque bloc.\n\
         \x20  Le format est documenté (docs/FORMAT.md du projet scelle) pour d'autres outils.\n\
         \x20  Les vidéos sont des MP4 fragmentés lisibles par VLC, ffmpeg, etc.\n\n\
         Empreintes SHA-256 :\n{}",
        list(files)
    )
}

/// `README.txt`.
pub fn readme(files: &[FileDigest]) -> String {
    format!(
        "Sealed evidence produced by scelle\n\
         ==================================\n\n\
         This folder holds encrypted files (AES-256-GCM): the videos (*.mp4.scelle) and their\n\
         manifest (manifest.json.scelle). The password reaches you through another channel\n\
         than this drive.\n\n\
         1. Check integrity (no password needed)\n\
         \x20  In this folder, run:  sha256sum -c SHA256SUMS.txt\n\
         \x20  or compare `sha256sum FILE` with the list below.\n\n\
         2. Open a file\n\
         \x20  scelle open FILE.mp4.scelle -o FILE.mp4   (asks for the password)\n\
         \x20  `scelle verify FILE --sha256 HASH` also authenticates every chunk.\n\
         \x20  The format is documented (docs/FORMAT.md in the scelle project) for other tools.\n\
         \x20  The videos are fragmented MP4 files that VLC, ffmpeg and others play.\n\n\
         SHA-256 of each file:\n{}",
        list(files)
    )
}

/// `SHA256SUMS.txt`, the format `sha256sum -c` reads.
pub fn sums(files: &[FileDigest]) -> String {
    list(files)
}
