//! The grammar of management commands. Words are matched case-insensitively, as Kusto
//! does for command keywords; table and mapping names keep their case.

use super::Parser;
use crate::command::{AppendMode, Command, MappingKind, PolicyEntity, PolicyKind, Properties};
use crate::error::{KqlError, Result};
use crate::lexer::Tok;
use crate::types::ColumnDef;

impl Parser<'_> {
    pub(crate) fn command(&mut self) -> Result<Command> {
        self.expect_punct(".")?;
        let Some(verb) = self.hyphenated()? else {
            return Err(self.unexpected("a command name after '.'")?);
        };
        let v = verb.name.to_ascii_lowercase();
        match v.as_str() {
            "create" | "create-merge" | "create-or-alter" => self.create(&v),
            "alter" | "alter-merge" => self.alter(v == "alter-merge"),
            "drop" => self.drop(),
            "show" => self.show(),
            "get" => {
                if self.eat_word("ingestion")? {
                    self.expect_word("resources")?;
                    return Ok(Command::GetIngestionResources);
                }
                self.expect_word("kusto")?;
                self.expect_word("identity")?;
                self.expect_word("token")?;
                Ok(Command::GetIdentityToken)
            }
            "ingest" => self.ingest(),
            "set" | "append" | "set-or-append" | "set-or-replace" => {
                let mode = match v.as_str() {
                    "set" => AppendMode::Set,
                    "append" => AppendMode::Append,
                    "set-or-append" => AppendMode::SetOrAppend,
                    _ => AppendMode::SetOrReplace,
                };
                self.eat_word("async")?;
                let table = self.name("a table name")?;
                let properties = self.with_properties()?;
                self.expect_punct("<|")?;
                let (query, _) = self.lexer.take_rest();
                Ok(Command::SetOrAppend { mode, table, properties, query: query.to_string() })
            }
            _ => Err(KqlError::syntax(
                format!(
                    "unknown command '.{}'; commands are .create, .create-merge, .create-or-alter, .alter, .alter-merge, .drop, .show, .get, .ingest, .set, .append, .set-or-append, .set-or-replace",
                    verb.name
                ),
                verb.span,
            )),
        }
    }

    fn is_word(&mut self, w: &str) -> Result<bool> {
        Ok(matches!(&self.peek()?.tok, Tok::Ident(s) if s.eq_ignore_ascii_case(w)))
    }

    fn eat_word(&mut self, w: &str) -> Result<bool> {
        if self.is_word(w)? {
            self.next()?;
            return Ok(true);
        }
        Ok(false)
    }

    fn expect_word(&mut self, w: &str) -> Result<()> {
        if self.eat_word(w)? {
            return Ok(());
        }
        Err(self.unexpected(&format!("'{w}'"))?)
    }

    /// A table, database or mapping name: identifier, `['quoted']` or a string literal.
    fn name(&mut self, what: &str) -> Result<String> {
        let t = self.peek()?.clone();
        match t.tok {
            Tok::Ident(n) | Tok::QuotedIdent(n) | Tok::Str(n) => {
                self.next()?;
                Ok(n)
            }
            _ => Err(self.unexpected(what)?),
        }
    }

    fn columns(&mut self) -> Result<Vec<ColumnDef>> {
        self.expect_punct("(")?;
        let mut cols: Vec<ColumnDef> = vec![];
        loop {
            let name = self.ident("a column name")?;
            self.expect_punct(":")?;
            let ty = self.type_name()?;
            if cols.iter().any(|c| c.name == name.name) {
                return Err(KqlError::syntax(
                    format!("column '{}' is declared twice", name.name),
                    name.span,
                ));
            }
            cols.push(ColumnDef {
                name: name.name,
                ty,
            });
            if !self.eat_punct(",")? {
                break;
            }
        }
        self.expect_punct(")")?;
        Ok(cols)
    }

    /// `with (k = v, ...)` or nothing.
    fn with_properties(&mut self) -> Result<Properties> {
        let mut props = vec![];
        if !self.eat_word("with")? {
            return Ok(props);
        }
        self.expect_punct("(")?;
        if self.eat_punct(")")? {
            return Ok(props);
        }
        loop {
            let key = self.name("a property name")?;
            self.expect_punct("=")?;
            let t = self.next()?;
            let value = match t.tok {
                Tok::Str(s) | Tok::Ident(s) | Tok::QuotedIdent(s) => s,
                Tok::Long(v) => v.to_string(),
                Tok::Real(v) => v.to_string(),
                Tok::Typed(_, raw) => raw,
                other => {
                    return Err(KqlError::syntax(
                        format!("expected a property value, found {}", other.describe()),
                        t.span,
                    ))
                }
            };
            props.push((key, value));
            if !self.eat_punct(",")? {
                break;
            }
        }
        self.expect_punct(")")?;
        Ok(props)
    }

    fn mapping_kind(&mut self) -> Result<MappingKind> {
        let t = self.next()?;
        if let Tok::Ident(k) = &t.tok {
            if let Some(kind) = MappingKind::parse(k) {
                return Ok(kind);
            }
        }
        Err(KqlError::syntax(
            format!(
                "expected a mapping kind (csv, json, avro, parquet), found {}",
                t.tok.describe()
            ),
            t.span,
        ))
    }

    fn policy_kind(&mut self) -> Result<PolicyKind> {
        let t = self.next()?;
        if let Tok::Ident(k) = &t.tok {
            if let Some(kind) = PolicyKind::parse(k) {
                return Ok(kind);
            }
        }
        Err(KqlError::syntax(
            format!(
                "expected a policy kind (ingestionbatching, streamingingestion, retention, ingestionconversion), found {}",
                t.tok.describe()
            ),
            t.span,
        ))
    }

    /// After `data`: `connection Name` (the rest is up to the caller).
    fn data_connection_name(&mut self) -> Result<String> {
        self.expect_word("connection")?;
        self.name("a data connection name")
    }

    fn create(&mut self, verb: &str) -> Result<Command> {
        if self.eat_word("data")? {
            if verb == "create-merge" {
                return Err(
                    self.unexpected("'.create' or '.create-or-alter' for a data connection")?
                );
            }
            let name = self.data_connection_name()?;
            let properties = self.with_properties()?;
            return Ok(Command::CreateDataConnection {
                name,
                properties,
                or_alter: verb == "create-or-alter",
            });
        }
        if self.eat_word("database")? {
            let name = self.name("a database name")?;
            let if_not_exists = self.eat_word("ifnotexists")?;
            // `persist (...)` / `volatile` are accepted and ignored: Eddy stores on disk.
            if self.eat_word("persist")? {
                self.expect_punct("(")?;
                while !self.eat_punct(")")? {
                    self.next()?;
                }
            }
            self.eat_word("volatile")?;
            let if_not_exists = if_not_exists || self.eat_word("ifnotexists")?;
            return Ok(Command::CreateDatabase {
                name,
                if_not_exists,
            });
        }
        self.expect_word("table")?;
        let table = self.name("a table name")?;
        if self.eat_word("ingestion")? {
            let kind = self.mapping_kind()?;
            self.expect_word("mapping")?;
            let (name, _) = self.single_string("a mapping name in quotes")?;
            let (body, _) = self.string("the mapping as a string literal")?;
            if verb == "create-merge" {
                return Err(self.unexpected("'.create' or '.create-or-alter' for a mapping")?);
            }
            return Ok(Command::CreateMapping {
                table,
                kind,
                name,
                body,
                or_alter: verb == "create-or-alter",
            });
        }
        let columns = self.columns()?;
        self.with_properties()?;
        match verb {
            "create-or-alter" => Ok(Command::AlterTable {
                name: table,
                columns,
            }),
            _ => Ok(Command::CreateTable {
                name: table,
                columns,
                merge: verb == "create-merge",
            }),
        }
    }

    fn policy_entity(&mut self) -> Result<PolicyEntity> {
        if self.eat_word("database")? {
            return Ok(PolicyEntity::Database(self.name("a database name")?));
        }
        self.expect_word("table")?;
        Ok(PolicyEntity::Table(self.name("a table name")?))
    }

    fn alter(&mut self, merge: bool) -> Result<Command> {
        let entity = self.policy_entity()?;
        if self.eat_word("policy")? {
            let policy = self.policy_kind()?;
            let (body, _) = self.string("the policy as a string literal")?;
            return Ok(Command::AlterPolicy {
                entity,
                policy,
                body,
                merge,
            });
        }
        match entity {
            PolicyEntity::Table(name) if !merge => Ok(Command::AlterTable {
                name,
                columns: self.columns()?,
            }),
            PolicyEntity::Table(name) => Ok(Command::CreateTable {
                name,
                columns: self.columns()?,
                merge: true,
            }),
            PolicyEntity::Database(_) => Err(self.unexpected("'policy'")?),
        }
    }

    fn drop(&mut self) -> Result<Command> {
        if self.eat_word("data")? {
            let name = self.data_connection_name()?;
            let if_exists = self.eat_word("ifexists")?;
            return Ok(Command::DropDataConnection { name, if_exists });
        }
        self.expect_word("table")?;
        let table = self.name("a table name")?;
        if self.eat_word("ingestion")? {
            let kind = self.mapping_kind()?;
            self.expect_word("mapping")?;
            let (name, _) = self.single_string("a mapping name in quotes")?;
            return Ok(Command::DropMapping { table, kind, name });
        }
        let if_exists = self.eat_word("ifexists")?;
        Ok(Command::DropTable {
            name: table,
            if_exists,
        })
    }

    fn show(&mut self) -> Result<Command> {
        if self.eat_word("databases")? {
            return Ok(Command::ShowDatabases);
        }
        if self.eat_word("version")? {
            return Ok(Command::ShowVersion);
        }
        if self.eat_word("cluster")? {
            return Ok(Command::ShowCluster);
        }
        if self.eat_word("tables")? {
            return Ok(Command::ShowTables);
        }
        if self.eat_word("data")? {
            if self.eat_word("connections")? {
                return Ok(Command::ShowDataConnections { name: None });
            }
            let name = self.data_connection_name()?;
            return Ok(Command::ShowDataConnections { name: Some(name) });
        }
        if self.eat_word("operations")? {
            let (raw, span) = self.raw_until_pipe();
            let inner = raw.trim_start_matches('(').trim_end_matches(')');
            let ids: Vec<String> = inner
                .split(',')
                .map(|s| s.trim().trim_matches(['\'', '"']).to_ascii_lowercase())
                .filter(|s| !s.is_empty())
                .collect();
            for id in &ids {
                let hex: String = id.chars().filter(|c| *c != '-').collect();
                if hex.len() != 32 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
                    return Err(KqlError::syntax(
                        format!("'{id}' is not an operation id (a GUID)"),
                        span,
                    ));
                }
            }
            return Ok(Command::ShowOperations { ids });
        }
        if self.eat_word("ingestion")? {
            self.expect_word("failures")?;
            return Ok(Command::ShowIngestionFailures);
        }
        if self.eat_word("database")? {
            let name = self.name("a database name")?;
            if self.eat_word("extents")? {
                return Ok(Command::ShowExtents { table: None });
            }
            self.expect_word("policy")?;
            let policy = self.policy_kind()?;
            return Ok(Command::ShowPolicy {
                entity: PolicyEntity::Database(name),
                policy,
            });
        }
        self.expect_word("table")?;
        let name = self.name("a table name")?;
        if self.eat_word("schema")? {
            self.expect_word("as")?;
            self.expect_word("json")?;
            return Ok(Command::ShowTableSchemaJson { name });
        }
        if self.eat_word("extents")? {
            return Ok(Command::ShowExtents { table: Some(name) });
        }
        if self.eat_word("policy")? {
            let policy = self.policy_kind()?;
            return Ok(Command::ShowPolicy {
                entity: PolicyEntity::Table(name),
                policy,
            });
        }
        if self.eat_word("ingestion")? {
            let kind = if self.is_word("mappings")? {
                None
            } else {
                Some(self.mapping_kind()?)
            };
            self.expect_word("mappings")?;
            return Ok(Command::ShowMappings { table: name, kind });
        }
        Ok(Command::ShowTable { name })
    }

    fn ingest(&mut self) -> Result<Command> {
        if self.eat_word("inline")? {
            self.expect_word("into")?;
            self.expect_word("table")?;
            let table = self.name("a table name")?;
            let properties = self.with_properties()?;
            self.expect_punct("<|")?;
            let (rest, _) = self.lexer.take_rest();
            // The data starts after `<|` and one optional space or line break.
            let data = rest
                .strip_prefix("\r\n")
                .or_else(|| rest.strip_prefix('\n'))
                .or_else(|| rest.strip_prefix(' '))
                .unwrap_or(rest);
            return Ok(Command::IngestInline {
                table,
                properties,
                data: data.to_string(),
            });
        }
        self.eat_word("async")?;
        self.expect_word("into")?;
        self.expect_word("table")?;
        let table = self.name("a table name")?;
        self.expect_punct("(")?;
        let mut sources = vec![];
        loop {
            let (s, _) = self.string("a source path or URL in quotes (h'...')")?;
            sources.push(s);
            if !self.eat_punct(",")? {
                break;
            }
        }
        self.expect_punct(")")?;
        let properties = self.with_properties()?;
        Ok(Command::IngestFrom {
            table,
            sources,
            properties,
        })
    }
}
