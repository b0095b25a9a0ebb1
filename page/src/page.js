// OUVRIR.html, the recipient's page of a scelle export: checks the SHA-256 of every file of the
// export folder against SHA256SUMS.txt (no password needed), then with the password derives each
// container's keys (Argon2id from hash-wasm, HKDF and AES-256-GCM from WebCrypto), decrypts the
// manifest, authenticates every chunk of every video, plays a video by streaming its decrypted
// fragments into Media Source Extensions, and saves a decrypted MP4 chunk by chunk.
//
// The container format is docs/FORMAT.md of the scelle project. Nothing here makes a network
// request (the page's Content-Security-Policy forbids it anyway). Plaintext only ever exists in
// this page's memory, one chunk or one movie fragment at a time, or in the file the user saves.
'use strict';

(function () {
  const hashwasm = globalThis.hashwasm;
  const subtle = globalThis.crypto && globalThis.crypto.subtle;

  // ---------------------------------------------------------------- texts (French first)

  const TEXT = {
    fr: {
      'title': 'Scellés numériques : vérifier, déchiffrer, lire',
      'colon': '\u202f: ',
      'number': 'n° ',
      'switch': 'English',
      'intro': 'Cette page fonctionne sans connexion ni installation. Rien de ce que vous ouvrez ne quitte cet ordinateur.',
      'step1': '1. Choisir les fichiers de l\'export',
      'step1-help': 'Un navigateur ne peut pas lire seul le dossier où se trouve cette page : désignez le dossier de l\'export (ou ses fichiers, tous ensemble).',
      'pick-folder': 'Choisir le dossier',
      'pick-files': 'Choisir les fichiers',
      'files-caption': 'Fichiers et empreintes SHA-256',
      'col-name': 'Fichier',
      'col-size': 'Taille',
      'col-sha': 'SHA-256 calculée',
      'col-check': 'Contrôle',
      'step2': '2. Mot de passe',
      'password-label': 'Mot de passe de l\'export (transmis séparément)',
      'open': 'Ouvrir',
      'kdf-label': 'Calcul de la clé',
      'step3': '3. Contenu de l\'export',
      'step4': '4. Lecture',
      'help-title': 'Autres moyens d\'ouvrir',
      'help-text': 'Sans navigateur : l\'outil « scelle open FICHIER.mp4.scelle -o FICHIER.mp4 » déchiffre un fichier. Le format est public (docs/FORMAT.md du projet scelle) pour écrire un autre outil. Les vidéos déchiffrées sont des MP4 lisibles par VLC.',
      'no-crypto': 'Ce navigateur ne fournit pas les fonctions cryptographiques nécessaires (WebCrypto, WebAssembly). Utilisez une version récente de Firefox, Chrome ou Edge.',
      'hashing': (done, total) => `Calcul des empreintes : ${done} sur ${total} fichiers…`,
      'no-sums': 'SHA256SUMS.txt n\'est pas parmi les fichiers choisis : choisissez tout le dossier de l\'export.',
      'hash-summary': (ok, bad, missing) =>
        `${ok} fichier(s) conforme(s) à SHA256SUMS.txt` +
        (bad ? `, ${bad} NON CONFORME(S) : n'utilisez pas ces fichiers et prévenez le site` : '') +
        (missing ? `, ${missing} absent(s)` : '') + '.',
      'hash-note': 'Comparez aussi l\'empreinte du manifeste avec celle du reçu de remise : SHA256SUMS.txt est sur le même support que les fichiers.',
      'st-pending': 'en attente',
      'st-hashing': (p) => `calcul… ${p} %`,
      'st-ok': 'conforme',
      'st-bad': (want) => `NON CONFORME (attendu ${want})`,
      'st-unlisted': 'hors liste',
      'st-missing': 'absent du dossier choisi',
      'kdf-progress': (i, n, mib, t) => `Calcul de la clé (Argon2id, ${mib} Mio, ${t} passe(s)) : fichier ${i} sur ${n}…`,
      'kdf-done': 'Clés calculées.',
      'no-manifest': 'manifest.json.scelle n\'est pas parmi les fichiers choisis : choisissez tout le dossier de l\'export.',
      'wrong-password': 'Mot de passe incorrect. Vérifiez-le (majuscules, espaces) et réessayez.',
      'wrong-password-or-header': (name) => `${name} : mot de passe incorrect, ou en-tête du fichier endommagé (son empreinte SHA-256 n'est pas conforme).`,
      'header-damaged': (name) => `${name} : en-tête endommagé (le mot de passe est juste pour les autres fichiers). N'utilisez pas ce fichier ; prévenez le site.`,
      'not-container': (name) => `${name} n'est pas un fichier scellé par scelle.`,
      'unknown-version': (name, v) => `${name} : version de format ${v} inconnue de cette page.`,
      'bad-header': (name, what) => `${name} : en-tête invalide (${what}). N'utilisez pas ce fichier ; prévenez le site.`,
      'metadata-damaged': (name) => `${name} : métadonnées endommagées. N'utilisez pas ce fichier ; prévenez le site.`,
      'chunk-damaged': (name, i, from, to) => `${name} : fichier endommagé, le bloc n° ${i} (octets ${from} à ${to}) ne s'authentifie pas. N'utilisez pas ce fichier ; prévenez le site.`,
      'truncated': (name, k) => `${name} : fichier tronqué après le bloc n° ${k - 1}. N'utilisez pas ce fichier ; prévenez le site.`,
      'trailing-data': (name, k) => `${name} : des octets suivent le dernier bloc (n° ${k - 1}). N'utilisez pas ce fichier ; prévenez le site.`,
      'manifest-bad': (name) => `Le manifeste ne se lit pas (${name}).`,
      'case-ref': 'Référence de l\'affaire',
      'case-id': 'Dossier scelle',
      'export-id': 'Export',
      'site': 'Site',
      'zone': 'Fuseau du site',
      'operator': 'Opérateur',
      'started': 'Début de l\'export',
      'finished': 'Fin de l\'export',
      'drive': 'Support',
      'register-head': 'Registre (tête au début)',
      'manifest-sha': 'SHA-256 du manifeste (à comparer au reçu)',
      'camera': 'Caméra',
      'file': 'Fichier',
      'requested': 'Période demandée',
      'covered': 'Périodes présentes',
      'gaps': 'Lacunes',
      'none': 'aucune',
      'clock': 'Décalage d\'horloge (enregistreur − serveur)',
      'not-measured': 'non mesuré',
      'measured': 'mesuré le',
      'tracks': 'Pistes',
      'frames': 'Images',
      'duration': 'Durée présente',
      'device': 'Appareil',
      'start-time': 'Heure de départ',
      'start-device': 'celle de l\'appareil',
      'start-server': 'celle du serveur (l\'appareil n\'en donnait pas)',
      'sha-manifest': 'SHA-256 selon le manifeste',
      'sha-agrees': 'identique à l\'empreinte calculée',
      'sha-differs': 'DIFFÉRENTE de l\'empreinte calculée : n\'utilisez pas ce fichier',
      'sha-unknown': 'fichier absent du dossier choisi',
      'play': 'Lire',
      'save': 'Enregistrer le MP4 déchiffré',
      'verify-chunks': 'Authentifier chaque bloc',
      'chunks-progress': (p) => `Authentification des blocs : ${p} %`,
      'chunks-ok': (n, mb, s, rate) => `Tous les blocs sont authentiques (${n} blocs, ${mb} Mo en ${s} s, ${rate} Mo/s).`,
      'gap-not-recorded': 'non enregistré',
      'gap-packet-loss': (n) => `paquets perdus (${n})`,
      'gap-discontinuity': 'discontinuité',
      'gap-connection-lost': 'connexion perdue',
      'gap-segment-missing': 'segment manquant',
      'bytes': 'octets',
      'mb': 'Mo',
      'position': (when) => `Image affichée : ${when}, selon le manifeste.`,
      'player-loading': 'Préparation de la lecture…',
      'player-playing': (name) => `Lecture de ${name} (déchiffrée au fil de l'eau).`,
      'codec-unsupported': (codec) => `Ce navigateur ne sait pas lire cette vidéo (${codec}). Enregistrez le MP4 déchiffré et ouvrez-le avec VLC.`,
      'no-mse': 'Ce navigateur ne permet pas la lecture en continu (Media Source Extensions). Enregistrez le MP4 déchiffré et ouvrez-le avec VLC.',
      'media-error': (msg) => `Le navigateur a interrompu la lecture (${msg}). Enregistrez le MP4 déchiffré et ouvrez-le avec VLC.`,
      'save-progress': (p) => `Déchiffrement vers le fichier : ${p} %`,
      'save-done': (name, mb) => `${name} enregistré (${mb} Mo), chaque bloc authentifié avant d'être écrit.`,
      'save-cancelled': 'Enregistrement annulé.',
      'save-too-big': (limit) => `Ce navigateur ne peut enregistrer qu'en mémoire, jusqu'à ${limit} Mo : utilisez Chrome ou Edge (écriture directe sur le disque), ou « scelle open ».`,
      'save-memory': (limit) => `Ce navigateur enregistre via la mémoire (limite ${limit} Mo).`,
      'save-failed': (msg) => `L'enregistrement a échoué : ${msg}. Le fichier incomplet a été abandonné.`,
    },
    en: {
      'title': 'Sealed evidence: verify, decrypt, play',
      'colon': ': ',
      'number': 'no. ',
      'switch': 'Français',
      'intro': 'This page works offline, with nothing to install. Nothing you open leaves this computer.',
      'step1': '1. Choose the export\'s files',
      'step1-help': 'A browser cannot read the folder this page sits in by itself: choose the export folder (or all of its files at once).',
      'pick-folder': 'Choose the folder',
      'pick-files': 'Choose the files',
      'files-caption': 'Files and SHA-256 hashes',
      'col-name': 'File',
      'col-size': 'Size',
      'col-sha': 'Computed SHA-256',
      'col-check': 'Check',
      'step2': '2. Password',
      'password-label': 'Password of the export (given to you separately)',
      'open': 'Open',
      'kdf-label': 'Deriving the key',
      'step3': '3. What the export holds',
      'step4': '4. Playback',
      'help-title': 'Other ways to open',
      'help-text': 'Without a browser: the tool "scelle open FILE.mp4.scelle -o FILE.mp4" decrypts a file. The format is public (docs/FORMAT.md in the scelle project) for writing another tool. Decrypted videos are MP4 files that VLC plays.',
      'no-crypto': 'This browser lacks the cryptographic functions needed (WebCrypto, WebAssembly). Use a recent Firefox, Chrome or Edge.',
      'hashing': (done, total) => `Computing hashes: ${done} of ${total} files…`,
      'no-sums': 'SHA256SUMS.txt is not among the chosen files: choose the whole export folder.',
      'hash-summary': (ok, bad, missing) =>
        `${ok} file(s) match SHA256SUMS.txt` +
        (bad ? `, ${bad} DO NOT MATCH: do not use them and tell the site` : '') +
        (missing ? `, ${missing} missing` : '') + '.',
      'hash-note': 'Also compare the manifest\'s hash with the delivery receipt: SHA256SUMS.txt is on the same drive as the files.',
      'st-pending': 'waiting',
      'st-hashing': (p) => `computing… ${p} %`,
      'st-ok': 'matches',
      'st-bad': (want) => `DOES NOT MATCH (expected ${want})`,
      'st-unlisted': 'not listed',
      'st-missing': 'not in the chosen folder',
      'kdf-progress': (i, n, mib, t) => `Deriving the key (Argon2id, ${mib} MiB, ${t} pass(es)): file ${i} of ${n}…`,
      'kdf-done': 'Keys derived.',
      'no-manifest': 'manifest.json.scelle is not among the chosen files: choose the whole export folder.',
      'wrong-password': 'Wrong password. Check it (capitals, spaces) and try again.',
      'wrong-password-or-header': (name) => `${name}: wrong password, or the file's header is damaged (its SHA-256 does not match).`,
      'header-damaged': (name) => `${name}: damaged header (the password is right for the other files). Do not use this file; tell the site.`,
      'not-container': (name) => `${name} is not a file sealed by scelle.`,
      'unknown-version': (name, v) => `${name}: format version ${v} is unknown to this page.`,
      'bad-header': (name, what) => `${name}: invalid header (${what}). Do not use this file; tell the site.`,
      'metadata-damaged': (name) => `${name}: damaged metadata. Do not use this file; tell the site.`,
      'chunk-damaged': (name, i, from, to) => `${name}: damaged file, chunk ${i} (bytes ${from} to ${to}) fails authentication. Do not use this file; tell the site.`,
      'truncated': (name, k) => `${name}: file truncated after chunk ${k - 1}. Do not use this file; tell the site.`,
      'trailing-data': (name, k) => `${name}: bytes follow the final chunk (${k - 1}). Do not use this file; tell the site.`,
      'manifest-bad': (name) => `The manifest cannot be read (${name}).`,
      'case-ref': 'Case reference',
      'case-id': 'scelle case',
      'export-id': 'Export',
      'site': 'Site',
      'zone': 'Site time zone',
      'operator': 'Operator',
      'started': 'Export started',
      'finished': 'Export finished',
      'drive': 'Drive',
      'register-head': 'Register (head at start)',
      'manifest-sha': 'SHA-256 of the manifest (compare with the receipt)',
      'camera': 'Camera',
      'file': 'File',
      'requested': 'Requested period',
      'covered': 'Periods present',
      'gaps': 'Gaps',
      'none': 'none',
      'clock': 'Clock offset (recorder − server)',
      'not-measured': 'not measured',
      'measured': 'measured',
      'tracks': 'Tracks',
      'frames': 'Frames',
      'duration': 'Duration present',
      'device': 'Device',
      'start-time': 'Start time',
      'start-device': 'the device\'s own',
      'start-server': 'the server\'s (the device gave none)',
      'sha-manifest': 'SHA-256 in the manifest',
      'sha-agrees': 'same as the computed hash',
      'sha-differs': 'DIFFERS from the computed hash: do not use this file',
      'sha-unknown': 'file not in the chosen folder',
      'play': 'Play',
      'save': 'Save the decrypted MP4',
      'verify-chunks': 'Authenticate every chunk',
      'chunks-progress': (p) => `Authenticating chunks: ${p} %`,
      'chunks-ok': (n, mb, s, rate) => `Every chunk is authentic (${n} chunks, ${mb} MB in ${s} s, ${rate} MB/s).`,
      'gap-not-recorded': 'not recorded',
      'gap-packet-loss': (n) => `packets lost (${n})`,
      'gap-discontinuity': 'discontinuity',
      'gap-connection-lost': 'connection lost',
      'gap-segment-missing': 'segment missing',
      'bytes': 'bytes',
      'mb': 'MB',
      'position': (when) => `Picture shown: ${when}, per the manifest.`,
      'player-loading': 'Preparing playback…',
      'player-playing': (name) => `Playing ${name} (decrypted as it plays).`,
      'codec-unsupported': (codec) => `This browser cannot play this video (${codec}). Save the decrypted MP4 and open it with VLC.`,
      'no-mse': 'This browser cannot stream video (Media Source Extensions). Save the decrypted MP4 and open it with VLC.',
      'media-error': (msg) => `The browser stopped playback (${msg}). Save the decrypted MP4 and open it with VLC.`,
      'save-progress': (p) => `Decrypting to the file: ${p} %`,
      'save-done': (name, mb) => `${name} saved (${mb} MB), every chunk authenticated before it was written.`,
      'save-cancelled': 'Saving cancelled.',
      'save-too-big': (limit) => `This browser can only save through memory, up to ${limit} MB: use Chrome or Edge (direct writing to disk), or "scelle open".`,
      'save-memory': (limit) => `This browser saves through memory (limit ${limit} MB).`,
      'save-failed': (msg) => `Saving failed: ${msg}. The incomplete file was discarded.`,
    },
  };

  let lang = 'fr';

  function t(key, ...args) {
    const v = TEXT[lang][key];
    return typeof v === 'function' ? v(...args) : v;
  }

  // A message shown to the user: a text key and its arguments, so it can be redrawn in the
  // other language. `kind` (e.g. `wrong-password`, `chunk-damaged`) is also set as the element's
  // `data-kind` for the browser tests.
  class PageError extends Error {
    constructor(key, ...args) {
      super(key);
      this.key = key;
      this.args = args;
    }
  }

  const shown = new Map(); // element -> { key, args, cls }

  function say(el, key, args, cls, kind) {
    shown.set(el, { key, args: args || [], cls: cls || '' });
    el.textContent = key ? t(key, ...(args || [])) : '';
    el.className = cls || '';
    if (kind !== undefined) {
      el.dataset.kind = kind;
    }
  }

  function sayError(el, err) {
    if (err instanceof PageError) {
      say(el, err.key, err.args, 'bad', err.key);
      if (err.key === 'chunk-damaged') {
        el.dataset.chunk = String(err.args[1]);
      }
    } else {
      shown.delete(el);
      el.textContent = String(err && err.message ? err.message : err);
      el.className = 'bad';
      el.dataset.kind = 'other';
    }
  }

  function redraw() {
    document.documentElement.lang = lang;
    document.title = lang === 'fr' ? 'Scellés numériques — OUVRIR' : 'Sealed evidence — OPEN';
    for (const el of document.querySelectorAll('[data-t]')) {
      el.textContent = t(el.dataset.t);
    }
    const button = document.getElementById('lang');
    button.textContent = t('switch');
    button.lang = lang === 'fr' ? 'en' : 'fr';
    for (const [el, m] of shown) {
      el.textContent = m.key ? t(m.key, ...m.args) : '';
    }
    renderFiles();
    renderManifest();
  }

  // ---------------------------------------------------------------- formatting

  function grouped(n) {
    return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, lang === 'fr' ? '\u202f' : ',');
  }

  function megabytes(bytes, digits) {
    const v = (bytes / 1e6).toFixed(digits === undefined ? 1 : digits);
    return lang === 'fr' ? v.replace('.', ',') : v;
  }

  function sizeText(bytes) {
    return `${grouped(bytes)} ${t('bytes')}`;
  }

  function hex(bytes) {
    let s = '';
    for (const b of bytes) {
      s += b.toString(16).padStart(2, '0');
    }
    return s;
  }

  // `YYYY-MM-DD HH:MM:SS` of an RFC 3339 time in an IANA zone.
  function timeIn(rfc3339, zone) {
    const d = new Date(rfc3339);
    if (Number.isNaN(d.getTime())) {
      return String(rfc3339);
    }
    let parts;
    try {
      parts = new Intl.DateTimeFormat('en-GB', {
        timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit',
        hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23',
      }).formatToParts(d);
    } catch (e) {
      return timeIn(rfc3339, 'UTC');
    }
    const p = {};
    for (const x of parts) {
      p[x.type] = x.value;
    }
    return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second}`;
  }

  function rangeText(r, zone) {
    return `${timeIn(r.start, zone)} – ${timeIn(r.end, zone)} (${zone})\n` +
      `${timeIn(r.start, 'UTC')} – ${timeIn(r.end, 'UTC')} (UTC)`;
  }

  function durationText(seconds) {
    const ms = Math.round(seconds * 1000);
    const s = Math.floor(ms / 1000);
    const base = `${Math.floor(s / 3600)}:${String(Math.floor(s / 60) % 60).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
    return ms % 1000 ? `${base}.${String(ms % 1000).padStart(3, '0')}` : base;
  }

  function gapReason(reason) {
    if (typeof reason === 'string') {
      const key = `gap-${reason}`;
      return TEXT[lang][key] ? t(key) : reason;
    }
    if (reason && typeof reason === 'object') {
      const [name, value] = Object.entries(reason)[0] || ['?', {}];
      if (name === 'packet-loss') {
        return t('gap-packet-loss', value.lost_packets);
      }
      const key = `gap-${name}`;
      return TEXT[lang][key] ? t(key) : name;
    }
    return '?';
  }

  function gapsText(gaps, zone) {
    if (!gaps || gaps.length === 0) {
      return t('none');
    }
    return gaps.map((g) => {
      const secs = (new Date(g.end) - new Date(g.start)) / 1000;
      return `${timeIn(g.start, zone)} – ${timeIn(g.end, zone)} (${durationText(secs)})${t('colon')}${gapReason(g.reason)}`;
    }).join('\n');
  }

  function clockText(c) {
    if (!c) {
      return t('not-measured');
    }
    const abs = Math.abs(c.offset_ms);
    const sign = c.offset_ms < 0 ? '-' : '+';
    const u = c.uncertainty_ms;
    return `${sign}${Math.floor(abs / 1000)}.${String(abs % 1000).padStart(3, '0')} s ` +
      `(± ${Math.floor(u / 1000)}.${String(u % 1000).padStart(3, '0')} s), ` +
      `${t('measured')} ${timeIn(c.measured_at, 'UTC')} UTC`;
  }

  function headText(h) {
    if (!h) return '—';
    if (typeof h === 'object' && 'seq' in h && 'hash' in h) return `${t('number')}${h.seq} — ${h.hash}`;
    return JSON.stringify(h);
  }

  function element(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'class') {
        el.className = v;
      } else if (k.startsWith('data-')) {
        el.setAttribute(k, v);
      } else {
        el[k] = v;
      }
    }
    for (const c of children) {
      el.append(c);
    }
    return el;
  }

  // ---------------------------------------------------------------- step 1: SHA-256 of every file

  const state = {
    files: [],          // { file, name, size, want, got, status, progress }
    sums: null,         // Map name -> expected hex, from SHA256SUMS.txt
    hashing: null,      // Promise of the running hash pass
    sealed: new Map(),  // name -> Sealed (after the password)
    validated: false,   // the password opened at least one file
    manifest: null,     // the decrypted export record
    chunkStatus: new Map(), // name -> element
  };

  function parseSums(text) {
    const sums = new Map();
    for (const line of text.split(/\r?\n/)) {
      const m = /^([0-9a-fA-F]{64}) [ *](.+)$/.exec(line.trim());
      if (m) {
        sums.set(m[2], m[1].toLowerCase());
      }
    }
    return sums;
  }

  async function pickFiles(list) {
    // Only the files of the export folder itself (webkitdirectory also lists subfolders).
    const files = Array.from(list).filter((f) => {
      const rel = f.webkitRelativePath || f.name;
      return rel.split('/').length <= 2;
    });
    state.files = files
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((file) => ({ file, name: file.name, size: file.size, want: null, got: null, status: 'pending', progress: 0 }));
    state.sealed.clear();
    state.validated = false;
    state.manifest = null;
    const sumsFile = files.find((f) => f.name === 'SHA256SUMS.txt');
    state.sums = sumsFile ? parseSums(await sumsFile.text()) : null;
    const summary = document.getElementById('hash-summary');
    if (!state.sums) {
      say(summary, 'no-sums', [], 'bad', 'no-sums');
    }
    for (const entry of state.files) {
      entry.want = state.sums ? state.sums.get(entry.name) || null : null;
      if (!entry.want) {
        entry.status = 'unlisted';
      }
    }
    if (state.sums) {
      for (const name of state.sums.keys()) {
        if (!state.files.some((f) => f.name === name)) {
          state.files.push({ file: null, name, size: null, want: state.sums.get(name), got: null, status: 'missing', progress: 0 });
        }
      }
    }
    document.getElementById('files').hidden = false;
    document.getElementById('password-section').hidden = !state.files.some((f) => f.file && f.name.endsWith('.scelle'));
    document.getElementById('manifest-section').hidden = true;
    renderFiles();
    state.hashing = hashAll();
    await state.hashing;
  }

  async function sha256File(file, onProgress) {
    const hasher = await hashwasm.createSHA256();
    hasher.init();
    const step = 8 << 20;
    let next = file.slice(0, step).arrayBuffer();
    for (let off = 0; off < file.size; off += step) {
      const buf = await next;
      if (off + step < file.size) {
        next = file.slice(off + step, off + 2 * step).arrayBuffer();
      }
      hasher.update(new Uint8Array(buf));
      onProgress(Math.min(file.size, off + step) / file.size);
    }
    return hasher.digest('hex');
  }

  // SHA-256 in workers: the page stays responsive and several files hash at once, one per
  // core; on the page itself if this browser refuses a worker made from a blob.
  const SHA_WORKER_MAIN = `
self.onmessage = async (e) => {
  try {
    const file = e.data;
    const hasher = await self.hashwasm.createSHA256();
    hasher.init();
    const step = 8 << 20;
    let next = file.slice(0, step).arrayBuffer();
    for (let off = 0; off < file.size; off += step) {
      const buf = await next;
      if (off + step < file.size) next = file.slice(off + step, off + 2 * step).arrayBuffer();
      hasher.update(new Uint8Array(buf));
      self.postMessage({ progress: Math.min(file.size, off + step) / file.size });
    }
    self.postMessage({ hex: hasher.digest('hex') });
  } catch (err) {
    self.postMessage({ error: String(err && err.message ? err.message : err) });
  }
};`;

  let shaWorkerWorks = true;

  function sha256Worker(file, onProgress) {
    return new Promise((resolve, reject) => {
      const lib = document.getElementById('lib-sha256').textContent;
      const url = URL.createObjectURL(new Blob([lib, SHA_WORKER_MAIN], { type: 'text/javascript' }));
      let worker;
      try {
        worker = new Worker(url);
      } catch (e) {
        URL.revokeObjectURL(url);
        reject(e);
        return;
      }
      const end = () => { worker.terminate(); URL.revokeObjectURL(url); };
      worker.onmessage = (e) => {
        if (e.data.progress !== undefined) {
          onProgress(e.data.progress);
          return;
        }
        end();
        if (e.data.hex) resolve(e.data.hex); else reject(new Error(e.data.error));
      };
      worker.onerror = (e) => { end(); e.preventDefault(); reject(new Error(e.message || 'worker')); };
      worker.postMessage(file);
    });
  }

  async function sha256Any(file, onProgress) {
    if (shaWorkerWorks) {
      try {
        const hex = await sha256Worker(file, onProgress);
        document.body.dataset.sha256 = 'worker';
        return hex;
      } catch (e) {
        shaWorkerWorks = false;
      }
    }
    document.body.dataset.sha256 = 'page';
    return sha256File(file, onProgress);
  }

  async function hashAll() {
    const summary = document.getElementById('hash-summary');
    const todo = state.files.filter((f) => f.file && f.want);
    let done = 0;
    if (state.sums) {
      say(summary, 'hashing', [0, todo.length], '');
    }
    const queue = todo.slice();
    const lane = async () => {
      for (let entry = queue.shift(); entry; entry = queue.shift()) {
        entry.status = 'hashing';
        entry.got = await sha256Any(entry.file, (p) => {
          const pc = Math.floor(p * 100);
          if (pc !== entry.progress) {
            entry.progress = pc;
            renderFileRow(entry);
          }
        });
        entry.status = entry.got === entry.want ? 'ok' : 'bad';
        renderFileRow(entry);
        done += 1;
        if (state.sums) {
          say(summary, 'hashing', [done, todo.length], '');
        }
      }
    };
    // One lane per core, up to 4 (without workers the lanes share the page's thread).
    const lanes = Math.max(1, Math.min(4, navigator.hardwareConcurrency || 1));
    await Promise.all(Array.from({ length: lanes }, lane));
    if (state.sums) {
      const ok = state.files.filter((f) => f.status === 'ok').length;
      const bad = state.files.filter((f) => f.status === 'bad').length;
      const missing = state.files.filter((f) => f.status === 'missing').length;
      say(summary, 'hash-summary', [ok, bad, missing], bad || missing ? 'bad' : 'ok', bad ? 'mismatch' : missing ? 'missing' : 'all-ok');
      summary.dataset.ok = String(ok);
      summary.dataset.bad = String(bad);
    }
    renderManifest();
  }

  const rows = new Map(); // name -> tr

  function renderFileRow(entry) {
    const tr = rows.get(entry.name);
    if (!tr) {
      return;
    }
    const cells = tr.children;
    cells[1].textContent = entry.size === null ? '' : sizeText(entry.size);
    cells[2].textContent = entry.got || '';
    const st = cells[3];
    st.dataset.status = entry.status;
    switch (entry.status) {
      case 'pending': st.textContent = t('st-pending'); st.className = 'muted'; break;
      case 'hashing': st.textContent = t('st-hashing', entry.progress); st.className = 'muted'; break;
      case 'ok': st.textContent = t('st-ok'); st.className = 'ok'; break;
      case 'bad': st.textContent = t('st-bad', entry.want); st.className = 'bad hash'; break;
      case 'missing': st.textContent = t('st-missing'); st.className = 'bad'; break;
      default: st.textContent = t('st-unlisted'); st.className = 'muted';
    }
  }

  function renderFiles() {
    const body = document.querySelector('#files tbody');
    body.replaceChildren();
    rows.clear();
    for (const entry of state.files) {
      const tr = element('tr', { 'data-name': entry.name },
        element('th', { scope: 'row' }, entry.name),
        element('td', { class: 'num' }),
        element('td', { class: 'hash' }),
        element('td'));
      rows.set(entry.name, tr);
      body.append(tr);
      renderFileRow(entry);
    }
  }

  // ---------------------------------------------------------------- the container (docs/FORMAT.md)

  const MAGIC = [0x53, 0x43, 0x45, 0x4c, 0x4c, 0x45, 0x0d, 0x0a];
  const HEADER_LEN = 100;
  const TAG_LEN = 16;
  const enc = new TextEncoder();

  // The header's fields, with the bounds a reader checks before running Argon2id.
  function parseHeader(name, b) {
    if (b.length < HEADER_LEN || MAGIC.some((x, i) => b[i] !== x)) {
      throw new PageError('not-container', name);
    }
    const v = new DataView(b.buffer, b.byteOffset, HEADER_LEN);
    const h = {
      version: v.getUint16(8, true),
      chunkLog2: b[10],
      m: v.getUint32(12, true),
      t: v.getUint32(16, true),
      p: v.getUint32(20, true),
      salt: b.slice(24, 40),
      noncePrefix: b.slice(40, 47),
      metadataLen: v.getUint32(48, true),
      wrapped: b.slice(52, 100),
      bytes: b.slice(0, HEADER_LEN),
    };
    if (h.version !== 1) {
      throw new PageError('unknown-version', name, h.version);
    }
    const bad = (what) => { throw new PageError('bad-header', name, what); };
    if (h.chunkLog2 < 10 || h.chunkLog2 > 24) bad('chunk_log2');
    if (b[11] !== 0 || b[47] !== 0) bad('reserved');
    if (h.metadataLen < 16 || h.metadataLen > 65552) bad('metadata_len');
    if (h.m < 8192 || h.m > 4194304) bad('argon2_m');
    if (h.t < 1 || h.t > 16) bad('argon2_t');
    if (h.p < 1 || h.p > 16) bad('argon2_p');
    if (h.m * h.t > 16777216) bad('argon2_m × argon2_t');
    if (Math.floor(h.m / h.p) < 8) bad('argon2_m / argon2_p');
    return h;
  }

  // Argon2id in a worker (the page stays responsive and its 256 MiB are freed when the worker
  // ends); on the page itself if this browser refuses a worker made from a blob.
  const WORKER_MAIN = `
self.onmessage = async (e) => {
  try {
    const out = await self.hashwasm.argon2id(Object.assign({ outputType: 'binary' }, e.data));
    self.postMessage({ ok: out }, [out.buffer]);
  } catch (err) {
    self.postMessage({ error: String(err && err.message ? err.message : err) });
  }
};`;

  function argon2Worker(params) {
    return new Promise((resolve, reject) => {
      const lib = document.getElementById('lib-argon2').textContent;
      const url = URL.createObjectURL(new Blob([lib, WORKER_MAIN], { type: 'text/javascript' }));
      let worker;
      try {
        worker = new Worker(url);
      } catch (e) {
        URL.revokeObjectURL(url);
        reject(e);
        return;
      }
      const end = () => { worker.terminate(); URL.revokeObjectURL(url); };
      worker.onmessage = (e) => {
        end();
        if (e.data.ok) resolve(e.data.ok); else reject(new Error(e.data.error));
      };
      worker.onerror = (e) => { end(); e.preventDefault(); reject(new Error(e.message || 'worker')); };
      worker.postMessage(params, [params.password.buffer]);
    });
  }

  let workerWorks = true;
  // Microseconds per KiB·pass, refined after every derivation, for the progress bar.
  let argonRate = 1.5;

  async function argon2(h, passwordBytes, onProgress) {
    const params = {
      password: passwordBytes.slice(),
      salt: h.salt,
      parallelism: h.p,
      iterations: h.t,
      memorySize: h.m,
      hashLength: 32,
    };
    const expected = h.m * h.t * argonRate / 1000; // ms
    const t0 = performance.now();
    const timer = setInterval(() => onProgress(Math.min(0.97, (performance.now() - t0) / expected)), 100);
    try {
      let out;
      if (workerWorks) {
        try {
          out = await argon2Worker(params);
        } catch (e) {
          workerWorks = false;
        }
      }
      if (!out) {
        params.password = passwordBytes.slice();
        out = await hashwasm.argon2id(Object.assign({ outputType: 'binary' }, params));
        params.password.fill(0);
      }
      const ms = performance.now() - t0;
      argonRate = ms * 1000 / (h.m * h.t);
      // For the benchmark: how long each derivation took, and where it ran.
      document.body.dataset.argon2 = workerWorks ? 'worker' : 'page';
      document.body.dataset.argon2Ms = `${document.body.dataset.argon2Ms || ''}${Math.round(ms)} `;
      onProgress(1);
      return out;
    } finally {
      clearInterval(timer);
    }
  }

  async function hkdfKey(ikm, salt, info) {
    const base = await subtle.importKey('raw', ikm, 'HKDF', false, ['deriveKey']);
    return subtle.deriveKey(
      { name: 'HKDF', hash: 'SHA-256', salt, info: enc.encode(info) },
      base, { name: 'AES-GCM', length: 256 }, false, ['decrypt']);
  }

  const ZERO_NONCE = new Uint8Array(12);

  // One opened container: its keys and random access to its chunks.
  class Sealed {
    constructor(name, file, h, payloadKey, metadata) {
      this.name = name;
      this.file = file;
      this.h = h;
      this.key = payloadKey;
      this.metadata = metadata;
      this.chunkSize = 2 ** h.chunkLog2;
      this.stored = this.chunkSize + TAG_LEN;
      this.payload = HEADER_LEN + h.metadataLen;
      const body = file.size - this.payload;
      this.chunks = body <= 0 ? 0 : Math.ceil(body / this.stored);
      this.plainSize = body <= 0 ? 0 : body - this.chunks * TAG_LEN;
      this.cache = new Map(); // a few decrypted chunks, for the MP4 reader
    }

    nonce(i, last) {
      const n = new Uint8Array(12);
      n.set(this.h.noncePrefix, 0);
      new DataView(n.buffer).setUint32(7, i, false);
      n[11] = last ? 1 : 0;
      return n;
    }

    span(i) {
      const from = this.payload + i * this.stored;
      return [from, Math.min(this.file.size, from + this.stored)];
    }

    // Authenticates and decrypts chunk `i` from its stored bytes.
    async open(i, data) {
      const last = i === this.chunks - 1;
      try {
        return new Uint8Array(await subtle.decrypt({ name: 'AES-GCM', iv: this.nonce(i, last), tagLength: 128 }, this.key, data));
      } catch (e) {
        if (!last && i === this.chunks - 2) {
          // A final chunk followed by more bytes: it verifies with the final flag.
          let final = false;
          try {
            await subtle.decrypt({ name: 'AES-GCM', iv: this.nonce(i, true), tagLength: 128 }, this.key, data);
            final = true;
          } catch (inner) { /* damaged */ }
          if (final) throw new PageError('trailing-data', this.name, i + 1);
        }
        if (last && data.length === this.stored) {
          // A full final chunk that verifies as a middle one: the file stops early.
          try {
            await subtle.decrypt({ name: 'AES-GCM', iv: this.nonce(i, false), tagLength: 128 }, this.key, data);
            throw new PageError('truncated', this.name, i + 1);
          } catch (inner) {
            if (inner instanceof PageError) throw inner;
          }
        }
        const [from, to] = this.span(i);
        throw new PageError('chunk-damaged', this.name, i, from, to - 1);
      }
    }

    // Chunks `first .. first + count` (one read, decrypted in parallel), each authenticated.
    async readChunks(first, count) {
      if (this.chunks === 0) {
        throw new PageError('truncated', this.name, 0);
      }
      const [from] = this.span(first);
      const [, to] = this.span(first + count - 1);
      const buf = new Uint8Array(await this.file.slice(from, to).arrayBuffer());
      const jobs = [];
      for (let k = 0; k < count; k++) {
        const a = k * this.stored;
        jobs.push(this.open(first + k, buf.subarray(a, Math.min(buf.length, a + this.stored))));
      }
      return inOrder(jobs);
    }

    async chunk(i) {
      let c = this.cache.get(i);
      if (!c) {
        [c] = await this.readChunks(i, 1);
        this.cache.set(i, c);
        if (this.cache.size > 8) {
          this.cache.delete(this.cache.keys().next().value);
        }
      }
      return c;
    }

    // Plaintext bytes `offset .. offset + length` (clamped to the end).
    async read(offset, length) {
      const end = Math.min(this.plainSize, offset + length);
      if (end <= offset) {
        return new Uint8Array(0);
      }
      const out = new Uint8Array(end - offset);
      const first = Math.floor(offset / this.chunkSize);
      const last = Math.floor((end - 1) / this.chunkSize);
      if (last - first >= 4) {
        // A large read (a movie fragment): straight through, in batches, without the cache.
        for (let i = first; i <= last; i += 64) {
          const n = Math.min(64, last + 1 - i);
          const parts = await this.readChunks(i, n);
          parts.forEach((c, k) => copyInto(out, c, (i + k) * this.chunkSize, offset, end));
        }
        return out;
      }
      for (let i = first; i <= last; i++) {
        copyInto(out, await this.chunk(i), i * this.chunkSize, offset, end);
      }
      return out;
    }

    // Every chunk in order, each authenticated before `sink` sees it; reading of the next batch
    // overlaps the decryption of this one. Batches of 256 chunks (16 MiB with 64 KiB chunks):
    // fewer, larger reads cost a quarter less CPU than 64-chunk batches (page_bench), and at
    // most two batches and one batch of plaintext are held at a time.
    async each(sink, onProgress) {
      if (this.chunks === 0) {
        throw new PageError('truncated', this.name, 0);
      }
      const batch = 256;
      const readBatch = (i) => {
        const [from] = this.span(i);
        const [, to] = this.span(Math.min(this.chunks, i + batch) - 1);
        return this.file.slice(from, to).arrayBuffer();
      };
      let next = readBatch(0);
      for (let i = 0; i < this.chunks; i += batch) {
        const buf = new Uint8Array(await next);
        if (i + batch < this.chunks) {
          next = readBatch(i + batch);
        }
        const jobs = [];
        for (let k = 0; k < batch && i + k < this.chunks; k++) {
          const a = k * this.stored;
          jobs.push(this.open(i + k, buf.subarray(a, Math.min(buf.length, a + this.stored))));
        }
        const parts = await inOrder(jobs);
        for (const p of parts) {
          await sink(p);
        }
        onProgress(Math.min(this.chunks, i + batch) / this.chunks);
      }
    }
  }

  // The results of `jobs`, or the failure of the first one in order (not the first to fail in
  // time), so the chunk named is the first damaged one.
  async function inOrder(jobs) {
    const settled = await Promise.allSettled(jobs);
    const failed = settled.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    return settled.map((r) => r.value);
  }

  function copyInto(out, chunk, chunkStart, offset, end) {
    const a = Math.max(offset, chunkStart);
    const b = Math.min(end, chunkStart + chunk.length);
    if (b > a) {
      out.set(chunk.subarray(a - chunkStart, b - chunkStart), a - offset);
    }
  }

  // Header, Argon2id, key unwrap, metadata: an opened container or an error naming the cause.
  async function openContainer(entry, passwordBytes, onProgress) {
    const name = entry.name;
    const file = entry.file;
    const head = new Uint8Array(await file.slice(0, HEADER_LEN).arrayBuffer());
    const h = parseHeader(name, head);
    const stretched = await argon2(h, passwordBytes, onProgress);
    let fileKey;
    try {
      const kek = await hkdfKey(stretched, new Uint8Array(0), 'scelle v1 key wrap');
      try {
        fileKey = new Uint8Array(await subtle.decrypt(
          { name: 'AES-GCM', iv: ZERO_NONCE, additionalData: h.bytes.subarray(0, 52), tagLength: 128 },
          kek, h.wrapped));
      } catch (e) {
        if (state.validated) throw new PageError('header-damaged', name);
        if (entry.status === 'bad') throw new PageError('wrong-password-or-header', name);
        throw new PageError('wrong-password');
      }
    } finally {
      stretched.fill(0);
    }
    try {
      const headerHash = new Uint8Array(await subtle.digest('SHA-256', h.bytes));
      const metaKey = await hkdfKey(fileKey, headerHash, 'scelle v1 metadata');
      const payloadKey = await hkdfKey(fileKey, headerHash, 'scelle v1 payload');
      const metaBytes = new Uint8Array(await file.slice(HEADER_LEN, HEADER_LEN + h.metadataLen).arrayBuffer());
      let metadata;
      try {
        const plain = await subtle.decrypt(
          { name: 'AES-GCM', iv: ZERO_NONCE, additionalData: h.bytes, tagLength: 128 }, metaKey, metaBytes);
        metadata = JSON.parse(new TextDecoder().decode(plain));
      } catch (e) {
        throw new PageError('metadata-damaged', name);
      }
      state.validated = true;
      return new Sealed(name, file, h, payloadKey, metadata);
    } finally {
      fileKey.fill(0);
    }
  }

  // ---------------------------------------------------------------- step 2: the password

  async function onPassword(ev) {
    ev.preventDefault();
    const input = document.getElementById('password');
    const status = document.getElementById('password-status');
    const button = document.getElementById('open');
    const errorEl = document.getElementById('error');
    say(errorEl, null, [], '', '');
    const containers = state.files.filter((f) => f.file && f.name.endsWith('.scelle') && !state.sealed.has(f.name));
    const manifestFirst = containers.sort((a, b) => (b.name === 'manifest.json.scelle') - (a.name === 'manifest.json.scelle'));
    if (!manifestFirst.some((f) => f.name === 'manifest.json.scelle') && state.sealed.size === 0) {
      say(status, 'no-manifest', [], 'bad', 'no-manifest');
    }
    const passwordBytes = enc.encode(input.value);
    button.disabled = true;
    input.disabled = true;
    const kdf = document.getElementById('kdf');
    const bar = document.getElementById('kdf-progress');
    kdf.hidden = false;
    let failed = null;
    try {
      let i = 0;
      for (const entry of manifestFirst) {
        i += 1;
        bar.value = 0;
        try {
          const head = parseHeader(entry.name, new Uint8Array(await entry.file.slice(0, HEADER_LEN).arrayBuffer()));
          say(status, 'kdf-progress', [i, manifestFirst.length, Math.round(head.m / 1024), head.t], '', 'kdf');
          const sealed = await openContainer(entry, passwordBytes, (p) => { bar.value = p; });
          state.sealed.set(entry.name, sealed);
          if (entry.name === 'manifest.json.scelle') {
            await readManifest(sealed);
          }
        } catch (e) {
          if (e instanceof PageError && e.key === 'wrong-password') {
            failed = e;
            break;
          }
          // One damaged file does not stop the others.
          failed = failed || e;
          state.sealed.set(entry.name, { error: e });
        }
        renderManifest();
      }
    } finally {
      passwordBytes.fill(0);
      kdf.hidden = true;
      button.disabled = false;
      input.disabled = false;
    }
    if (failed && failed.key === 'wrong-password') {
      sayError(status, failed);
      input.select();
      input.focus();
      return;
    }
    if (failed) {
      sayError(status, failed);
    } else if (!state.manifest) {
      // Without the manifest there is nothing to show the files with: say what is missing.
      say(status, 'no-manifest', [], 'bad', 'no-manifest');
    } else {
      say(status, 'kdf-done', [], 'ok', 'keys');
      input.value = '';
    }
    renderManifest();
    verifyAllChunks();
  }

  async function readManifest(sealed) {
    const parts = [];
    await sealed.each((p) => { parts.push(p); }, () => {});
    const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let o = 0;
    for (const p of parts) {
      bytes.set(p, o);
      o += p.length;
    }
    try {
      state.manifest = JSON.parse(new TextDecoder().decode(bytes));
    } catch (e) {
      throw new PageError('manifest-bad', String(e.message || e));
    }
    document.getElementById('manifest-section').hidden = false;
  }

  // Authenticates every chunk of every opened video, one file after the other.
  let verifying = null;
  function verifyAllChunks() {
    if (verifying) return verifying;
    verifying = (async () => {
      for (const [name, sealed] of state.sealed) {
        if (!(sealed instanceof Sealed) || name === 'manifest.json.scelle' || sealed.verified !== undefined) {
          continue;
        }
        await verifyChunks(sealed);
      }
      verifying = null;
    })();
    return verifying;
  }

  async function verifyChunks(sealed) {
    const el = () => state.chunkStatus.get(sealed.name);
    const t0 = performance.now();
    let last = -1;
    try {
      sealed.verified = null;
      await sealed.each(() => {}, (p) => {
        const pc = Math.floor(p * 100);
        if (pc !== last && el()) {
          last = pc;
          say(el(), 'chunks-progress', [pc], 'muted', 'progress');
        }
      });
      const s = (performance.now() - t0) / 1000;
      const bytes = sealed.file.size;
      sealed.verified = { ok: true, chunks: sealed.chunks, bytes, seconds: s };
      if (el()) showVerified(sealed);
    } catch (e) {
      sealed.verified = { ok: false, error: e };
      if (el()) sayError(el(), e);
    }
  }

  function showVerified(sealed) {
    const v = sealed.verified;
    const e = state.chunkStatus.get(sealed.name);
    if (!v || !e) return;
    if (!v.ok) {
      sayError(e, v.error);
      return;
    }
    const secs = lang === 'fr' ? v.seconds.toFixed(2).replace('.', ',') : v.seconds.toFixed(2);
    say(e, 'chunks-ok', [v.chunks, megabytes(v.bytes), secs, megabytes(v.bytes / v.seconds, 0)], 'ok', 'chunks-ok');
    e.dataset.mbps = String(v.bytes / 1e6 / v.seconds);
    e.dataset.seconds = String(v.seconds);
  }

  // ---------------------------------------------------------------- step 3: the manifest

  function facts(pairs) {
    const dl = element('dl', { class: 'facts' });
    for (const [k, v, cls] of pairs) {
      dl.append(element('dt', {}, t(k)), element('dd', cls ? { class: cls } : {}, v));
    }
    return dl;
  }

  function renderManifest() {
    const box = document.getElementById('manifest');
    const m = state.manifest;
    state.chunkStatus.clear();
    if (!m) {
      box.replaceChildren();
      return;
    }
    const zone = m.time_zone || 'UTC';
    const both = (ts) => `${timeIn(ts, zone)} (${zone})\n${timeIn(ts, 'UTC')} (UTC)`;
    const drive = m.destination && m.destination.drive;
    const manifestEntry = state.files.find((f) => f.name === 'manifest.json.scelle');
    const out = [facts([
      ['case-ref', m.case_reference],
      ['case-id', m.case_id],
      ['export-id', m.export_id],
      ['site', m.site_name],
      ['zone', zone],
      ['operator', m.operator],
      ['started', both(m.started_at)],
      ['finished', both(m.finished_at)],
      ['drive', drive ? [drive.vendor, drive.model, drive.serial].filter(Boolean).join(' ') || drive.device : ''],
      ['register-head', headText(m.register_head), 'hash'],
      ['manifest-sha', manifestEntry && manifestEntry.got ? manifestEntry.got : '', 'hash'],
    ])];
    for (const f of m.files || []) {
      const entry = state.files.find((x) => x.name === f.file.name);
      let agree;
      if (!entry || !entry.file) agree = ['sha-unknown', 'bad'];
      else if (!entry.got) agree = ['st-pending', 'muted'];
      else agree = entry.got === f.file.sha256 ? ['sha-agrees', 'ok'] : ['sha-differs', 'bad'];
      const dev = f.device ? [f.device.vendor, f.device.model, f.device.serial, f.device.firmware].filter(Boolean).join(' ') : '';
      const card = element('article', { class: 'camera', 'data-file': f.file.name },
        element('h3', {}, `${t('camera')}${t('colon')}${f.camera_name} (${f.camera})`),
        facts([
          ['file', `${f.file.name}\n${sizeText(f.file.size)}`],
          ['sha-manifest', f.file.sha256, 'hash'],
          ['col-check', t(agree[0]), agree[1]],
          ['requested', rangeText(f.requested, zone)],
          ['covered', (f.covered || []).map((r) => rangeText(r, zone)).join('\n') || t('none')],
          ['duration', durationText(f.covered_seconds || 0)],
          ['gaps', gapsText(f.gaps, zone)],
          ['clock', clockText(f.clock_offset)],
          ['start-time', t(f.start_from_device ? 'start-device' : 'start-server')],
          ['tracks', (f.tracks || []).join(', ')],
          ['frames', grouped(f.frames || 0)],
          ['device', dev || '—'],
        ]));
      const sealed = state.sealed.get(f.file.name);
      const status = element('p', { role: 'status', 'data-role': 'chunks' });
      state.chunkStatus.set(f.file.name, status);
      if (sealed instanceof Sealed) {
        const play = element('button', { type: 'button', 'data-role': 'play' }, t('play'));
        play.addEventListener('click', () => playFile(sealed, f));
        const save = element('button', { type: 'button', 'data-role': 'save' }, t('save'));
        const saveStatus = element('span', { role: 'status', 'data-role': 'save-status' });
        save.addEventListener('click', () => saveFile(sealed, saveStatus));
        const verify = element('button', { type: 'button', 'data-role': 'verify' }, t('verify-chunks'));
        verify.addEventListener('click', () => { sealed.verified = undefined; verifyChunks(sealed); });
        card.append(element('div', { class: 'actions' }, play, save, verify, saveStatus), status);
        if (sealed.verified) showVerified(sealed);
      } else if (sealed && sealed.error) {
        sayError(status, sealed.error);
        card.append(status);
      }
      out.push(card);
    }
    box.replaceChildren(...out);
  }

  // ---------------------------------------------------------------- step 4: playback (MSE)

  function u32(b, o) { return ((b[o] << 24) >>> 0) + (b[o + 1] << 16) + (b[o + 2] << 8) + b[o + 3]; }
  function u64(b, o) { return u32(b, o) * 4294967296 + u32(b, o + 4); }
  function fourcc(b, o) { return String.fromCharCode(b[o], b[o + 1], b[o + 2], b[o + 3]); }

  // The boxes directly inside `b[start..end]`: { type, start, body, end }.
  function* boxes(b, start, end) {
    let o = start;
    while (o + 8 <= end) {
      let size = u32(b, o);
      let body = o + 8;
      if (size === 1) {
        size = u64(b, o + 8);
        body = o + 16;
      } else if (size === 0) {
        size = end - o;
      }
      if (size < body - o || o + size > end) return;
      yield { type: fourcc(b, o + 4), start: o, body, end: o + size };
      o += size;
    }
  }

  function child(b, box, type) {
    for (const x of boxes(b, box.body, box.end)) {
      if (x.type === type) return x;
    }
    return null;
  }

  function hex2(n) { return n.toString(16).padStart(2, '0'); }

  // The tracks of the movie box: id, kind, timescale and the codec string MSE asks for.
  function parseMovie(b, moov) {
    const tracks = [];
    for (const trak of boxes(b, moov.body, moov.end)) {
      if (trak.type !== 'trak') continue;
      const tkhd = child(b, trak, 'tkhd');
      const mdia = child(b, trak, 'mdia');
      if (!tkhd || !mdia) continue;
      const id = u32(b, tkhd.body + (b[tkhd.body] === 1 ? 20 : 12));
      const mdhd = child(b, mdia, 'mdhd');
      const hdlr = child(b, mdia, 'hdlr');
      const timescale = mdhd ? u32(b, mdhd.body + (b[mdhd.body] === 1 ? 20 : 12)) : 1;
      const kind = hdlr ? fourcc(b, hdlr.body + 8) : '';
      const minf = child(b, mdia, 'minf');
      const stbl = minf && child(b, minf, 'stbl');
      const stsd = stbl && child(b, stbl, 'stsd');
      let codec = null;
      let label = '';
      if (stsd) {
        const entry = boxes(b, stsd.body + 8, stsd.end).next().value;
        if (entry) {
          label = entry.type;
          if (entry.type === 'avc1' || entry.type === 'avc3') {
            const avcC = [...boxes(b, entry.body + 78, entry.end)].find((x) => x.type === 'avcC');
            if (avcC) {
              codec = `${entry.type}.${hex2(b[avcC.body + 1])}${hex2(b[avcC.body + 2])}${hex2(b[avcC.body + 3])}`;
              label = 'H.264';
            }
          } else if (entry.type === 'hvc1' || entry.type === 'hev1') {
            const hvcC = [...boxes(b, entry.body + 78, entry.end)].find((x) => x.type === 'hvcC');
            label = 'H.265';
            if (hvcC) {
              const c = hvcC.body;
              const space = ['', 'A', 'B', 'C'][b[c + 1] >> 6];
              const tier = (b[c + 1] >> 5) & 1 ? 'H' : 'L';
              const profile = b[c + 1] & 31;
              let compat = u32(b, c + 2);
              let rev = 0;
              for (let i = 0; i < 32; i++) { rev = (rev * 2) + (compat & 1); compat >>>= 1; }
              const constraints = [];
              for (let i = 0; i < 6; i++) constraints.push(b[c + 6 + i]);
              while (constraints.length && constraints[constraints.length - 1] === 0) constraints.pop();
              codec = `${entry.type}.${space}${profile}.${rev.toString(16)}.${tier}${b[c + 12]}` +
                constraints.map((x) => `.${x.toString(16)}`).join('');
            } else {
              codec = `${entry.type}.1.6.L93.B0`;
            }
          } else if (entry.type === 'mp4a') {
            codec = 'mp4a.40.2';
            label = 'AAC';
            const esds = [...boxes(b, entry.body + 28, entry.end)].find((x) => x.type === 'esds');
            if (esds) {
              for (let o = esds.body + 4; o < esds.end - 2; o++) {
                if (b[o] === 0x05) {
                  // DecoderSpecificInfo: length (1-4 bytes), then the AudioSpecificConfig.
                  let p = o + 1;
                  while (p < esds.end && b[p] & 0x80) p++;
                  const aot = b[p + 1] >> 3;
                  if (aot > 0 && aot < 31) codec = `mp4a.40.${aot}`;
                  break;
                }
              }
            }
          }
        }
      }
      tracks.push({ id, kind, timescale, codec, label });
    }
    return tracks;
  }

  // Start and end (seconds) of the video track's samples in a `moof`.
  function fragmentTimes(b, moof, track) {
    for (const traf of boxes(b, moof.body, moof.end)) {
      if (traf.type !== 'traf') continue;
      const tfhd = child(b, traf, 'tfhd');
      if (!tfhd || u32(b, tfhd.body + 4) !== track.id) continue;
      const tfhdFlags = u32(b, tfhd.body) & 0xffffff;
      let o = tfhd.body + 8;
      if (tfhdFlags & 0x1) o += 8;
      if (tfhdFlags & 0x2) o += 4;
      const defaultDuration = tfhdFlags & 0x8 ? u32(b, o) : track.defaultDuration || 0;
      const tfdt = child(b, traf, 'tfdt');
      const t0 = tfdt ? (b[tfdt.body] === 1 ? u64(b, tfdt.body + 4) : u32(b, tfdt.body + 4)) : 0;
      let total = 0;
      for (const trun of boxes(b, traf.body, traf.end)) {
        if (trun.type !== 'trun') continue;
        const flags = u32(b, trun.body) & 0xffffff;
        const count = u32(b, trun.body + 4);
        let p = trun.body + 8;
        if (flags & 0x1) p += 4;
        if (flags & 0x4) p += 4;
        for (let i = 0; i < count; i++) {
          if (flags & 0x100) { total += u32(b, p); p += 4; } else total += defaultDuration;
          if (flags & 0x200) p += 4;
          if (flags & 0x400) p += 4;
          if (flags & 0x800) p += 4;
        }
      }
      return [t0 / track.timescale, (t0 + total) / track.timescale];
    }
    return null;
  }

  // The movie fragments of a decrypted MP4, found by walking the top-level boxes: only the
  // chunks holding box headers and `moof`s are decrypted, not the media data.
  class FragmentIndex {
    constructor(sealed, offset, track) {
      this.sealed = sealed;
      this.pos = offset;
      this.track = track;
      this.fragments = []; // { start, end, t0, t1 } (bytes, seconds)
      this.done = false;
      this.busy = null;
    }

    step() {
      if (!this.busy) {
        this.busy = this.stepInner().finally(() => { this.busy = null; });
      }
      return this.busy;
    }

    async stepInner() {
      const s = this.sealed;
      if (this.pos + 8 > s.plainSize) {
        this.done = true;
        return;
      }
      const head = await s.read(this.pos, 16);
      let size = u32(head, 0);
      if (size === 1) size = u64(head, 8);
      if (size === 0) size = s.plainSize - this.pos;
      if (size < 8) {
        this.done = true;
        return;
      }
      const type = fourcc(head, 4);
      if (type === 'moof') {
        const moof = await s.read(this.pos, size);
        const times = fragmentTimes(moof, { type, start: 0, body: size === u32(head, 0) ? 8 : 16, end: size }, this.track);
        // The fragment is the `moof` and the `mdat` after it, published together.
        let end = this.pos + size;
        if (end + 8 <= s.plainSize) {
          const next = await s.read(end, 16);
          if (fourcc(next, 4) === 'mdat') {
            const n = u32(next, 0);
            end += n === 1 ? u64(next, 8) : n === 0 ? s.plainSize - end : n;
          }
        }
        if (times) {
          this.fragments.push({ start: this.pos, end, t0: times[0], t1: times[1] });
        }
        this.pos = end;
        return;
      }
      this.pos += size;
    }

    // The index of the fragment to play at time `t`, walking further as needed.
    async at(t) {
      for (;;) {
        const fs = this.fragments;
        if (fs.length && (fs[fs.length - 1].t1 > t || this.done)) {
          let i = fs.length - 1;
          while (i > 0 && fs[i].t0 > t) i--;
          return i;
        }
        if (this.done) return -1;
        await this.step();
      }
    }
  }

  let player = null;

  class Player {
    constructor(sealed, record, video, status) {
      this.sealed = sealed;
      this.record = record;
      this.video = video;
      this.status = status;
      this.closed = false;
      this.next = 0;
      this.seekTo = null;
      this.wakeUp = null;
      this.url = null;
    }

    wake() {
      if (this.wakeUp) {
        const w = this.wakeUp;
        this.wakeUp = null;
        w();
      }
    }

    sleep(ms) {
      return new Promise((resolve) => {
        this.wakeUp = resolve;
        setTimeout(() => this.wake(), ms);
      });
    }

    async start() {
      const s = this.sealed;
      // Everything before the first `moof` is the initialization segment.
      let pos = 0;
      let moov = null;
      let initBytes = null;
      while (pos + 8 <= s.plainSize) {
        const head = await s.read(pos, 16);
        let size = u32(head, 0);
        if (size === 1) size = u64(head, 8);
        const type = fourcc(head, 4);
        if (type === 'moof' || size < 8) break;
        if (type === 'moov') {
          const m = await s.read(pos, size);
          moov = { bytes: m, box: boxes(m, 0, m.length).next().value };
        }
        pos += size;
      }
      if (!moov) throw new PageError('media-error', 'moov');
      initBytes = await s.read(0, pos);
      const tracks = parseMovie(moov.bytes, moov.box);
      const av = tracks.filter((x) => x.kind === 'vide' || x.kind === 'soun');
      const video = av.find((x) => x.kind === 'vide');
      const label = av.map((x) => x.codec || x.label).join(', ');
      if (!video) throw new PageError('codec-unsupported', label || '?');
      this.trackLabel = label;
      const MS = globalThis.MediaSource || globalThis.ManagedMediaSource;
      if (!MS) throw new PageError('no-mse');
      const mime = `video/mp4; codecs="${av.filter((x) => x.codec).map((x) => x.codec).join(', ')}"`;
      if (av.some((x) => !x.codec) || !MS.isTypeSupported(mime)) {
        throw new PageError('codec-unsupported', `${av.map((x) => x.label).join(', ')} — ${mime}`);
      }
      this.index = new FragmentIndex(s, pos, video);
      this.ms = new MS();
      this.url = URL.createObjectURL(this.ms);
      this.video.src = this.url;
      await new Promise((resolve) => this.ms.addEventListener('sourceopen', resolve, { once: true }));
      this.sb = this.ms.addSourceBuffer(mime);
      await this.append(initBytes);
      this.onSeeking = () => {
        if (!this.buffered(this.video.currentTime)) {
          this.seekTo = this.video.currentTime;
        }
        this.wake();
      };
      this.onTime = () => { this.wake(); this.showPosition(); };
      this.video.addEventListener('seeking', this.onSeeking);
      this.video.addEventListener('timeupdate', this.onTime);
      this.video.addEventListener('waiting', this.onTime);
      this.gapTimer = setInterval(() => this.skipGap(), 250);
      this.loop().catch((e) => {
        if (!this.closed) {
          sayError(this.status, e);
          this.close(false);
        }
      });
      this.indexAll();
    }

    // The site time of the picture shown: media time 0 is the start of the first period the
    // manifest says is present (the server's clock).
    showPosition() {
      const el = document.getElementById('position');
      const start = this.record.covered && this.record.covered[0] && new Date(this.record.covered[0].start);
      if (!start || Number.isNaN(start.getTime())) {
        say(el, null, [], '');
        return;
      }
      const at = new Date(start.getTime() + this.video.currentTime * 1000).toISOString();
      const zone = (state.manifest && state.manifest.time_zone) || 'UTC';
      say(el, 'position', [`${timeIn(at, zone)} (${zone}) — ${timeIn(at, 'UTC')} (UTC)`], 'muted');
    }

    // Walks the whole index in the background, then sets the duration.
    async indexAll() {
      while (!this.index.done && !this.closed) {
        await this.index.step();
      }
      const fs = this.index.fragments;
      if (!this.closed && fs.length) {
        await this.idle();
        if (this.ms.readyState === 'open' && this.ms.duration !== fs[fs.length - 1].t1) {
          try { this.ms.duration = fs[fs.length - 1].t1; } catch (e) { /* set by endOfStream */ }
        }
      }
      this.wake();
    }

    async idle() {
      while (this.sb.updating) {
        await new Promise((r) => this.sb.addEventListener('updateend', r, { once: true }));
      }
    }

    append(bytes) {
      return new Promise((resolve, reject) => {
        const done = () => { this.sb.removeEventListener('error', fail); resolve(); };
        const fail = () => {
          this.sb.removeEventListener('updateend', done);
          const err = this.video.error;
          reject(new PageError('media-error', err && err.message ? err.message : 'appendBuffer'));
        };
        this.sb.addEventListener('updateend', done, { once: true });
        this.sb.addEventListener('error', fail, { once: true });
        try {
          this.sb.appendBuffer(bytes);
        } catch (e) {
          this.sb.removeEventListener('updateend', done);
          this.sb.removeEventListener('error', fail);
          reject(e);
        }
      });
    }

    buffered(t) {
      const r = this.video.buffered;
      for (let i = 0; i < r.length; i++) {
        if (r.start(i) <= t + 0.05 && t < r.end(i) - 0.05) return true;
      }
      return false;
    }

    bufferedAhead(t) {
      const r = this.video.buffered;
      for (let i = 0; i < r.length; i++) {
        if (r.start(i) <= t + 0.05 && t < r.end(i)) return r.end(i) - t;
      }
      return 0;
    }

    // Playback stops at a hole in the footage (a gap of the recording): jump to the next
    // fragment when no fragment covers the current time.
    skipGap() {
      const v = this.video;
      if (this.closed || v.paused || v.seeking || !this.index) return;
      const t = v.currentTime;
      const fs = this.index.fragments;
      if (this.bufferedAhead(t) > 0.3) return;
      const covering = fs.find((f) => f.t0 <= t + 0.3 && t + 0.3 < f.t1);
      if (covering) return;
      const after = fs.find((f) => f.t0 > t);
      if (after) v.currentTime = after.t0 + 0.001;
    }

    async evict() {
      const t = this.video.currentTime;
      const r = this.video.buffered;
      if (r.length && r.start(0) < t - 30) {
        await this.idle();
        await new Promise((resolve) => {
          this.sb.addEventListener('updateend', resolve, { once: true });
          this.sb.remove(0, t - 10);
        });
      }
      // Ranges far ahead (left by a seek backwards) go too.
      if (r.length && r.end(r.length - 1) > t + 120) {
        await this.idle();
        await new Promise((resolve) => {
          this.sb.addEventListener('updateend', resolve, { once: true });
          this.sb.remove(t + 60, Infinity);
        });
      }
    }

    async loop() {
      while (!this.closed) {
        if (this.seekTo !== null) {
          const target = this.seekTo;
          this.seekTo = null;
          const i = await this.index.at(target);
          const fs = this.index.fragments;
          if (i >= 0 && target >= fs[i].t1 - 0.05 && i + 1 < fs.length) {
            // The target is in a hole of the recording: play on from the next fragment.
            this.next = i + 1;
            this.video.currentTime = fs[i + 1].t0 + 0.001;
          } else if (i >= 0) {
            this.next = i;
          }
          continue;
        }
        const fs = this.index.fragments;
        if (this.next >= fs.length) {
          if (!this.index.done) {
            await this.index.step();
            continue;
          }
          if (this.ms.readyState === 'open') {
            await this.idle();
            if (this.ms.readyState === 'open') this.ms.endOfStream();
          }
          await this.sleep(500);
          continue;
        }
        if (this.bufferedAhead(this.video.currentTime) > 20 && !this.video.seeking) {
          await this.sleep(500);
          continue;
        }
        const f = fs[this.next];
        const bytes = await this.sealed.read(f.start, f.end - f.start);
        if (this.closed) return;
        if (this.seekTo !== null) continue;
        await this.evict();
        try {
          await this.append(bytes);
        } catch (e) {
          if (e && e.name === 'QuotaExceededError') {
            await this.sleep(1000);
            continue;
          }
          throw e;
        }
        this.next += 1;
      }
    }

    close(clearStatus) {
      this.closed = true;
      clearInterval(this.gapTimer);
      if (this.onSeeking) {
        this.video.removeEventListener('seeking', this.onSeeking);
        this.video.removeEventListener('timeupdate', this.onTime);
        this.video.removeEventListener('waiting', this.onTime);
      }
      this.video.removeAttribute('src');
      this.video.load();
      if (this.url) URL.revokeObjectURL(this.url);
      if (clearStatus) say(this.status, null, [], '');
      say(document.getElementById('position'), null, [], '');
      this.wake();
    }
  }

  async function playFile(sealed, record) {
    const section = document.getElementById('player-section');
    const video = document.getElementById('video');
    const status = document.getElementById('player-status');
    const actions = document.getElementById('player-actions');
    actions.replaceChildren();
    video.hidden = false;
    section.hidden = false;
    if (player) player.close(true);
    document.getElementById('player-title').textContent = `${record.camera_name} — ${record.file.name}`;
    say(status, 'player-loading', [], 'muted', 'loading');
    const p = new Player(sealed, record, video, status);
    player = p;
    try {
      await p.start();
      say(status, 'player-playing', [sealed.metadata.name || sealed.name], '', 'playing');
      video.dataset.tracks = p.trackLabel;
      section.scrollIntoView({ block: 'start' });
      video.focus();
      await video.play().catch(() => {});
    } catch (e) {
      p.close(false);
      sayError(status, e);
      // The browser cannot play it here: the decrypted MP4 for VLC, one click away.
      video.hidden = true;
      const save = element('button', { type: 'button', 'data-role': 'save' }, t('save'));
      const saveStatus = element('span', { role: 'status', 'data-role': 'save-status' });
      save.addEventListener('click', () => saveFile(sealed, saveStatus));
      actions.replaceChildren(save, saveStatus);
      save.focus();
    }
  }

  // ---------------------------------------------------------------- saving the decrypted MP4

  // Without the File System Access API the file is assembled as a Blob before it is offered:
  // it is then held whole in memory, hence a limit.
  const BLOB_LIMIT = 1024 * 1024 * 1024;

  function safeName(sealed) {
    const n = String(sealed.metadata.name || sealed.name.replace(/\.scelle$/, ''));
    return n.replace(/[\\/:*?"<>|\u0000-\u001f]/g, '_') || 'video.mp4';
  }

  async function saveFile(sealed, status) {
    const name = safeName(sealed);
    let last = -1;
    const progress = (p) => {
      const pc = Math.floor(p * 100);
      if (pc !== last) {
        last = pc;
        say(status, 'save-progress', [pc], 'muted', 'progress');
      }
    };
    if (typeof globalThis.showSaveFilePicker === 'function') {
      let handle;
      try {
        handle = await globalThis.showSaveFilePicker({
          suggestedName: name,
          types: [{ description: 'MP4', accept: { 'video/mp4': ['.mp4'] } }],
        });
      } catch (e) {
        say(status, 'save-cancelled', [], 'muted', 'cancelled');
        return;
      }
      const writable = await handle.createWritable();
      try {
        // Each batch of chunks is authenticated before any of it is written.
        await sealed.each((c) => writable.write(c), progress);
        await writable.close();
      } catch (e) {
        await writable.abort().catch(() => {});
        if (e instanceof PageError) sayError(status, e);
        else say(status, 'save-failed', [String(e && e.message ? e.message : e)], 'bad', 'save-failed');
        return;
      }
      say(status, 'save-done', [name, megabytes(sealed.plainSize)], 'ok', 'saved');
      return;
    }
    const limit = Math.round(BLOB_LIMIT / 1e6);
    if (sealed.plainSize > BLOB_LIMIT) {
      say(status, 'save-too-big', [limit], 'bad', 'too-big');
      return;
    }
    const parts = [];
    try {
      await sealed.each((c) => { parts.push(c); }, progress);
    } catch (e) {
      parts.length = 0;
      sayError(status, e);
      return;
    }
    const blob = new Blob(parts, { type: sealed.metadata.media_type || 'application/octet-stream' });
    parts.length = 0;
    const url = URL.createObjectURL(blob);
    const a = element('a', { href: url, download: name });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
    say(status, 'save-done', [name, megabytes(sealed.plainSize)], 'ok', 'saved');
    status.dataset.memory = String(limit);
  }

  // ---------------------------------------------------------------- the reader alone

  // For the test vectors (tests/vectors, through page/test/vectors.mjs) and for anyone who
  // wants the browser console: opens one container with a password and authenticates every
  // chunk; the plaintext's SHA-256 and length, or the PageError (`key`, `args`) it failed with.
  globalThis.scelleReader = {
    async open(file, password) {
      const passwordBytes = enc.encode(password);
      try {
        const entry = { name: file.name, file, status: 'ok' };
        const sealed = await openContainer(entry, passwordBytes, () => {});
        const hasher = await hashwasm.createSHA256();
        hasher.init();
        let length = 0;
        await sealed.each((c) => { hasher.update(c); length += c.length; }, () => {});
        return { metadata: sealed.metadata, sha256: hasher.digest('hex'), length };
      } catch (e) {
        if (e instanceof PageError) return { key: e.key, args: e.args };
        throw e;
      } finally {
        passwordBytes.fill(0);
        state.validated = false;
      }
    },
  };

  // ---------------------------------------------------------------- wiring

  function init() {
    redraw();
    const errorEl = document.getElementById('error');
    if (!subtle || !globalThis.WebAssembly || !hashwasm) {
      say(errorEl, 'no-crypto', [], 'bad', 'no-crypto');
      return;
    }
    document.getElementById('lang').addEventListener('click', () => {
      lang = lang === 'fr' ? 'en' : 'fr';
      redraw();
    });
    for (const id of ['pick-folder', 'pick-files']) {
      document.getElementById(id).addEventListener('change', (e) => {
        if (e.target.files && e.target.files.length) {
          pickFiles(e.target.files).catch((err) => sayError(errorEl, err));
        }
      });
    }
    document.getElementById('password-form').addEventListener('submit', (e) => {
      onPassword(e).catch((err) => sayError(errorEl, err));
    });
    document.body.dataset.ready = '1';
  }

  init();
})();
