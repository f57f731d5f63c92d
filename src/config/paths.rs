//! Where things live (XDG): the config file, the store, the engine socket, the state dir
//! with the TUI's log.

use std::path::{Path, PathBuf};

use super::Config;

/// Where things live on this machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    pub config_file: PathBuf,
    pub data_dir: PathBuf,
    pub runtime_dir: PathBuf,
    pub state_dir: PathBuf,
}

impl Paths {
    /// XDG defaults, then the config file's choices, then the overrides (flags or env).
    pub fn resolve(config_file: Option<PathBuf>, config: &Config, data_override: Option<PathBuf>) -> Paths {
        let dirs = directories::ProjectDirs::from("", "", "campanile");
        let home_fallback = || std::env::temp_dir().join("campanile");
        let config_file = config_file.unwrap_or_else(|| {
            dirs.as_ref().map_or_else(home_fallback, |d| d.config_dir().to_path_buf()).join("config.toml")
        });
        let data_dir = data_override
            .or_else(|| config.data_dir.clone())
            .unwrap_or_else(|| dirs.as_ref().map_or_else(home_fallback, |d| d.data_dir().to_path_buf()));
        let runtime_dir = config.runtime_dir.clone().unwrap_or_else(|| {
            dirs.as_ref()
                .and_then(|d| d.runtime_dir().map(Path::to_path_buf))
                .unwrap_or_else(|| data_dir.join("run"))
        });
        let state_dir = dirs
            .as_ref()
            .and_then(|d| d.state_dir().map(Path::to_path_buf))
            .unwrap_or_else(|| data_dir.join("state"));
        Paths { config_file, data_dir, runtime_dir, state_dir }
    }

    pub fn store(&self) -> PathBuf {
        self.data_dir.join("campanile.db")
    }

    pub fn socket(&self) -> PathBuf {
        self.runtime_dir.join("engine.sock")
    }

    pub fn log_file(&self) -> PathBuf {
        self.state_dir.join("campanile.log")
    }
}

/// The default config file location, honouring `CAMPANILE_CONFIG` via the caller's flag.
pub fn default_config_file() -> PathBuf {
    Paths::resolve(None, &Config::default(), None).config_file
}
