//! Where the MiniLM model files and the ONNX Runtime library are looked for.
//!
//! The search order is stable and documented; the first place that is set
//! wins (a place that is set but holds nothing usable is reported as
//! missing, it does not fall through to the next one, so a typo in an
//! option is never silently replaced by some other copy):
//!
//! | what | 1. explicit option | 2. environment | 3. cache directory |
//! |---|---|---|---|
//! | model directory | `model_dir` | `DREAMWORK_MODEL_DIR` | `CACHE/all-MiniLM-L6-v2-int8/` |
//! | runtime library | `ort_lib` | `DREAMWORK_ORT_LIB`, then `ORT_DYLIB_PATH` | `CACHE/onnxruntime-1.24.4/libonnxruntime.so.1.24.4` |
//!
//! `CACHE` is itself the explicit `cache_dir` option, else
//! `$DREAMWORK_CACHE_DIR`, else the user cache directory
//! (`dirs::cache_dir()/dreamwork`, e.g. `~/.cache/dreamwork` on Linux).
//! `dreamwork model fetch` installs both into `CACHE`.
//!
//! This module only reads the environment; it never sets a variable.

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};

/// Name of the model's folder inside the cache directory.
pub const MODEL_DIR_NAME: &str = "all-MiniLM-L6-v2-int8";
/// Name of the runtime's folder inside the cache directory.
pub const RUNTIME_DIR_NAME: &str = "onnxruntime-1.24.4";
/// File name of the runtime library inside [`RUNTIME_DIR_NAME`].
pub const RUNTIME_FILE_NAME: &str = "libonnxruntime.so.1.24.4";

/// The files a model directory must hold, each with its pinned SHA-256.
pub const MODEL_FILES: [(&str, &str); 5] = [
    ("model.onnx", "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"),
    ("tokenizer.json", "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"),
    ("config.json", "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41"),
    ("special_tokens_map.json", "303df45a03609e4ead04bc3dc1536d0ab19b5358db685b6f3da123d05ec200e3"),
    ("tokenizer_config.json", "acb92769e8195aabd29b7b2137a9e6d6e25c476a4f15aa4355c233426c61576b"),
];

/// Pinned SHA-256 of [`RUNTIME_FILE_NAME`].
pub const RUNTIME_SHA256: &str = "2d518e11c7767f9fdc4413bdbeb45acf30db504ff76a82fc19d9238a3f9f6c24";

/// Environment variable naming the cache directory.
pub const ENV_CACHE_DIR: &str = "DREAMWORK_CACHE_DIR";
/// Environment variable naming the model directory.
pub const ENV_MODEL_DIR: &str = "DREAMWORK_MODEL_DIR";
/// Environment variable naming the runtime library (checked first).
pub const ENV_ORT_LIB: &str = "DREAMWORK_ORT_LIB";
/// The `ort` crate's own variable naming the runtime library (checked second).
pub const ENV_ORT_DYLIB_PATH: &str = "ORT_DYLIB_PATH";

/// Explicit choices that override the environment and the cache directory.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct LocateOptions {
    /// The model directory to use.
    pub model_dir: Option<PathBuf>,
    /// The ONNX Runtime library file to use.
    pub ort_lib: Option<PathBuf>,
    /// The cache directory (where `model fetch` installs).
    pub cache_dir: Option<PathBuf>,
}

impl LocateOptions {
    /// The model directory to use.
    pub fn with_model_dir(mut self, model_dir: impl Into<Option<PathBuf>>) -> Self {
        self.model_dir = model_dir.into();
        self
    }

    /// The ONNX Runtime library file to use.
    pub fn with_ort_lib(mut self, ort_lib: impl Into<Option<PathBuf>>) -> Self {
        self.ort_lib = ort_lib.into();
        self
    }

    /// The cache directory (where `model fetch` installs).
    pub fn with_cache_dir(mut self, cache_dir: impl Into<Option<PathBuf>>) -> Self {
        self.cache_dir = cache_dir.into();
        self
    }
}

/// Which rung of the search order gave a path.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Origin {
    /// An explicit option.
    Option,
    /// The named environment variable.
    Env(&'static str),
    /// The cache directory.
    Cache,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Option => f.write_str("option"),
            Origin::Env(name) => write!(f, "${name}"),
            Origin::Cache => f.write_str("cache"),
        }
    }
}

/// One looked-up item: where it was expected, by which rule, and whether it
/// is usable there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lookup {
    /// The path chosen by the search order (`None` if no cache directory
    /// could be determined either).
    pub path: Option<PathBuf>,
    /// The rule that chose it.
    pub origin: Origin,
    /// What is missing there (empty when usable).
    pub missing: Vec<String>,
}

impl Lookup {
    /// Whether the item is present and complete.
    pub fn is_found(&self) -> bool {
        self.path.is_some() && self.missing.is_empty()
    }
}

/// The result of the search for both the model and the runtime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    /// The cache directory in effect (where `model fetch` would install).
    pub cache_dir: Option<PathBuf>,
    /// The model directory.
    pub model: Lookup,
    /// The runtime library file.
    pub runtime: Lookup,
}

impl Located {
    /// Both paths, if both are usable.
    pub fn paths(&self) -> Option<(&Path, &Path)> {
        match (&self.model.path, &self.runtime.path) {
            (Some(m), Some(r)) if self.model.is_found() && self.runtime.is_found() => Some((m, r)),
            _ => None,
        }
    }

    /// A one-line explanation of what is missing, with the fix.
    pub fn missing_message(&self) -> String {
        let mut parts = Vec::new();
        for (what, lookup) in [("model", &self.model), ("ONNX Runtime", &self.runtime)] {
            if lookup.is_found() {
                continue;
            }
            match &lookup.path {
                Some(p) => parts.push(format!(
                    "{what} not found at {} (from {}; missing {})",
                    p.display(),
                    lookup.origin,
                    lookup.missing.join(", ")
                )),
                None => parts.push(format!("{what} not found (no cache directory)")),
            }
        }
        format!("{}; run `dreamwork model fetch` to install it", parts.join("; "))
    }
}

/// The cache directory: `explicit`, else `$DREAMWORK_CACHE_DIR`, else
/// `dirs::cache_dir()/dreamwork`.
pub fn cache_dir(explicit: Option<&Path>) -> Option<PathBuf> {
    cache_dir_with(explicit, &|name| std::env::var_os(name))
}

/// Runs the search order against the process environment.
pub fn locate(options: &LocateOptions) -> Located {
    locate_with(options, &|name| std::env::var_os(name))
}

type Env<'a> = &'a dyn Fn(&str) -> Option<OsString>;

fn non_empty(env: Env<'_>, name: &str) -> Option<PathBuf> {
    env(name).filter(|v| !v.is_empty()).map(PathBuf::from)
}

fn cache_dir_with(explicit: Option<&Path>, env: Env<'_>) -> Option<PathBuf> {
    explicit
        .map(Path::to_path_buf)
        .or_else(|| non_empty(env, ENV_CACHE_DIR))
        .or_else(|| dirs::cache_dir().map(|d| d.join("dreamwork")))
}

/// The search order with an injectable environment (for tests).
fn locate_with(options: &LocateOptions, env: Env<'_>) -> Located {
    let cache = cache_dir_with(options.cache_dir.as_deref(), env);

    let (model_path, model_origin) = if let Some(p) = &options.model_dir {
        (Some(p.clone()), Origin::Option)
    } else if let Some(p) = non_empty(env, ENV_MODEL_DIR) {
        (Some(p), Origin::Env(ENV_MODEL_DIR))
    } else {
        (cache.as_ref().map(|c| c.join(MODEL_DIR_NAME)), Origin::Cache)
    };
    let model_missing = match &model_path {
        Some(dir) => MODEL_FILES
            .iter()
            .filter(|(name, _)| !dir.join(name).is_file())
            .map(|(name, _)| (*name).to_string())
            .collect(),
        None => vec!["model directory".to_string()],
    };

    let (rt_path, rt_origin) = if let Some(p) = &options.ort_lib {
        (Some(p.clone()), Origin::Option)
    } else if let Some(p) = non_empty(env, ENV_ORT_LIB) {
        (Some(p), Origin::Env(ENV_ORT_LIB))
    } else if let Some(p) = non_empty(env, ENV_ORT_DYLIB_PATH) {
        (Some(p), Origin::Env(ENV_ORT_DYLIB_PATH))
    } else {
        (cache.as_ref().map(|c| c.join(RUNTIME_DIR_NAME).join(RUNTIME_FILE_NAME)), Origin::Cache)
    };
    let rt_missing = match &rt_path {
        Some(p) if p.is_file() => Vec::new(),
        Some(_) => vec!["library file".to_string()],
        None => vec!["library file".to_string()],
    };

    Located {
        cache_dir: cache,
        model: Lookup { path: model_path, origin: model_origin, missing: model_missing },
        runtime: Lookup { path: rt_path, origin: rt_origin, missing: rt_missing },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn env_of(pairs: &[(&str, &Path)]) -> impl Fn(&str) -> Option<OsString> + use<> {
        let map: BTreeMap<String, OsString> =
            pairs.iter().map(|(k, v)| (k.to_string(), v.as_os_str().to_owned())).collect();
        move |name| map.get(name).cloned()
    }

    fn install(dir: &Path) {
        let model = dir.join(MODEL_DIR_NAME);
        std::fs::create_dir_all(&model).unwrap();
        for (name, _) in MODEL_FILES {
            std::fs::write(model.join(name), b"x").unwrap();
        }
        let rt = dir.join(RUNTIME_DIR_NAME);
        std::fs::create_dir_all(&rt).unwrap();
        std::fs::write(rt.join(RUNTIME_FILE_NAME), b"x").unwrap();
    }

    #[test]
    fn option_beats_env_beats_cache() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        install(a.path());
        install(b.path());
        let env = env_of(&[(ENV_CACHE_DIR, a.path())]);
        let from_env = locate_with(&LocateOptions::default(), &env);
        assert_eq!(from_env.cache_dir.as_deref(), Some(a.path()));
        assert_eq!(from_env.model.origin, Origin::Cache);
        assert!(from_env.paths().is_some());

        let opts = LocateOptions { cache_dir: Some(b.path().to_path_buf()), ..Default::default() };
        let from_opt = locate_with(&opts, &env);
        assert_eq!(from_opt.cache_dir.as_deref(), Some(b.path()));

        let model_dir = a.path().join(MODEL_DIR_NAME);
        let env2 = env_of(&[(ENV_CACHE_DIR, b.path()), (ENV_MODEL_DIR, &model_dir)]);
        let l = locate_with(&LocateOptions::default(), &env2);
        assert_eq!(l.model.origin, Origin::Env(ENV_MODEL_DIR));
        assert_eq!(l.model.path.as_deref(), Some(model_dir.as_path()));
    }

    #[test]
    fn dreamwork_ort_lib_beats_ort_dylib_path() {
        let a = tempfile::tempdir().unwrap();
        let lib1 = a.path().join("one.so");
        let lib2 = a.path().join("two.so");
        std::fs::write(&lib1, b"x").unwrap();
        std::fs::write(&lib2, b"x").unwrap();
        let env = env_of(&[(ENV_ORT_DYLIB_PATH, &lib2), (ENV_ORT_LIB, &lib1)]);
        let l = locate_with(&LocateOptions::default(), &env);
        assert_eq!(l.runtime.path.as_deref(), Some(lib1.as_path()));
        assert_eq!(l.runtime.origin, Origin::Env(ENV_ORT_LIB));
        let env = env_of(&[(ENV_ORT_DYLIB_PATH, &lib2)]);
        let l = locate_with(&LocateOptions::default(), &env);
        assert_eq!(l.runtime.origin, Origin::Env(ENV_ORT_DYLIB_PATH));
    }

    #[test]
    fn missing_items_are_named_and_do_not_fall_through() {
        let a = tempfile::tempdir().unwrap();
        install(a.path());
        let empty = tempfile::tempdir().unwrap();
        std::fs::remove_file(a.path().join(MODEL_DIR_NAME).join("tokenizer.json")).unwrap();
        let env = env_of(&[(ENV_CACHE_DIR, a.path()), (ENV_MODEL_DIR, empty.path())]);
        let l = locate_with(&LocateOptions::default(), &env);
        assert!(!l.model.is_found());
        assert_eq!(l.model.missing.len(), MODEL_FILES.len());
        let msg = l.missing_message();
        assert!(msg.contains("dreamwork model fetch"), "{msg}");
        assert!(!msg.contains('\n'));
        assert!(msg.contains("DREAMWORK_MODEL_DIR"), "{msg}");
    }
}
