//! The connection definitions on disk: one JSON file, replaced atomically on change.

use std::path::{Path, PathBuf};

use eddy_explorer::{ExplorerError, Result};

use crate::def::ConnectionDef;

const FILE: &str = "data_connections.json";

pub struct Store {
    dir: PathBuf,
    pub defs: Vec<ConnectionDef>,
}

impl Store {
    pub fn open(dir: &Path) -> Result<Store> {
        std::fs::create_dir_all(dir)
            .map_err(ExplorerError::io(format!("create {}", dir.display())))?;
        let path = dir.join(FILE);
        let defs = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                ExplorerError::Execution(format!("{} is corrupt: {e}", path.display()))
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => vec![],
            Err(e) => return Err(ExplorerError::io(format!("read {}", path.display()))(e)),
        };
        Ok(Store {
            dir: dir.to_path_buf(),
            defs,
        })
    }

    pub fn save(&self) -> Result<()> {
        let bytes = serde_json::to_vec_pretty(&self.defs).expect("definitions serialize");
        eddy_common::fsutil::write_atomic(&self.dir, FILE, &bytes)
            .map_err(ExplorerError::io("save data connections"))
    }

    pub fn get(&self, db: &str, name: &str) -> Option<&ConnectionDef> {
        self.defs
            .iter()
            .find(|d| d.database == db && d.name == name)
    }

    /// Adds or replaces the definition with this database and name.
    pub fn put(&mut self, def: ConnectionDef) -> Result<()> {
        self.defs
            .retain(|d| !(d.database == def.database && d.name == def.name));
        self.defs.push(def);
        self.save()
    }

    pub fn remove(&mut self, db: &str, name: &str) -> Result<bool> {
        let before = self.defs.len();
        self.defs.retain(|d| !(d.database == db && d.name == name));
        if self.defs.len() == before {
            return Ok(false);
        }
        self.save()?;
        Ok(true)
    }
}
