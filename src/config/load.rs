use std::path::{Path, PathBuf};

use super::Config;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{0}")]
    Invalid(String),
}

pub fn default_path() -> Option<PathBuf> {
    None
}

pub fn resolve_path(explicit: Option<&Path>) -> Option<PathBuf> {
    explicit.map(Path::to_path_buf)
}

pub fn load(_path: &Path) -> Result<Config, ConfigError> {
    Err(ConfigError::Invalid("todo".into()))
}

pub fn load_str(text: &str, _origin: &str) -> Result<Config, ConfigError> {
    toml::from_str(text).map_err(|e| ConfigError::Invalid(e.to_string()))
}
