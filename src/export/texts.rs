//! The plain instructions written next to the sealed files: `LISEZMOI.txt` (French) and
//! `README.txt` (English). They tell the recipient how to check the SHA-256 of each file and how
//! to open it: the page `OUVRIR.html` first, `scelle open` second, the format for other tools.
//! No personal data: no case details, no names, no times of footage — only file
//! names, sizes and hashes, which reveal nothing without the password.

use crate::case::FileDigest;

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
         1. Le plus simple : ouvrez OUVRIR.html (double-clic) dans Firefox, Chrome ou Edge.\n\
         \x20  Sans connexion ni installation, la page vérifie l'empreinte de chaque fichier,\n\
         \x20  demande le mot de passe, montre le contenu de l'export, lit les vidéos et\n\
         \x20  enregistre le MP4 déchiffré. Désignez-lui ce dossier quand elle le demande.\n\n\
         2. Vérifier l'intégrité en ligne de commande (sans mot de passe)\n\
         \x20  Dans ce dossier, lancez :  sha256sum -c SHA256SUMS.txt\n\
         \x20  ou comparez le résultat de `sha256sum FICHIER` avec la liste ci-dessous.\n\n\
         3. Ouvrir un fichier avec l'outil scelle\n\
         \x20  scelle open FICHIER.mp4.scelle -o FICHIER.mp4   (le mot de passe est demandé)\n\
         \x20  `scelle verify FICHIER --sha256 EMPREINTE` vérifie aussi chaque bloc.\n\n\
         4. Autres outils : le format est documenté (docs/FORMAT.md du projet scelle).\n\
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
         1. The simplest: open OUVRIR.html (double-click) in Firefox, Chrome or Edge.\n\
         \x20  Offline and with nothing to install, the page checks each file's hash, asks for\n\
         \x20  the password, shows what the export holds, plays the videos and saves the\n\
         \x20  decrypted MP4. Point it to this folder when it asks.\n\n\
         2. Check integrity on the command line (no password needed)\n\
         \x20  In this folder, run:  sha256sum -c SHA256SUMS.txt\n\
         \x20  or compare `sha256sum FILE` with the list below.\n\n\
         3. Open a file with the scelle tool\n\
         \x20  scelle open FILE.mp4.scelle -o FILE.mp4   (asks for the password)\n\
         \x20  `scelle verify FILE --sha256 HASH` also authenticates every chunk.\n\n\
         4. Other tools: the format is documented (docs/FORMAT.md in the scelle project).\n\
         \x20  The videos are fragmented MP4 files that VLC, ffmpeg and others play.\n\n\
         SHA-256 of each file:\n{}",
        list(files)
    )
}

/// `SHA256SUMS.txt`, the format `sha256sum -c` reads.
pub fn sums(files: &[FileDigest]) -> String {
    list(files)
}
