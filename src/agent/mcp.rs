//! The MCP server (`dreamwork mcp STORE`, stdio transport), built on the
//! official Rust MCP SDK (`rmcp`). A translation only: each tool call
//! becomes an [`AgentStore`] call, run on a blocking thread (store work is
//! file I/O), and its text becomes the tool result — an error result
//! (`isError: true`) for a refused command, so the model reads why.
//!
//! Tools: `memory_view`, `memory_create`, `memory_str_replace`,
//! `memory_insert`, `memory_delete`, `memory_rename` (the memory-tool
//! commands, with their parameters) and `memory_search` (`query`, `k`).
//! Their descriptions are the Markdown files in `tools/`.

use std::sync::{Arc, Mutex};

use rmcp::ErrorData;
use rmcp::handler::server::ServerHandler;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation, ListToolsResult,
    PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool, ToolAnnotations,
};
use rmcp::service::{RequestContext, RoleServer, ServiceExt};
use serde_json::{Map, Value, json};

use super::memory_tool::{Command, ToolError};
use super::{AgentStore, INSTRUCTIONS, SearchError, format_hits};

/// Hits `memory_search` returns when the call gives no `k`.
pub const DEFAULT_K: usize = 5;
/// Most hits `memory_search` returns.
pub const MAX_K: usize = 100;

/// The server: tools over one [`AgentStore`].
#[derive(Debug, Clone)]
pub struct MemoryServer {
    agent: Arc<Mutex<AgentStore>>,
}

impl MemoryServer {
    /// A server over `agent`.
    pub fn new(agent: AgentStore) -> Self {
        Self { agent: Arc::new(Mutex::new(agent)) }
    }

    /// Serves MCP on standard input and output until the client closes
    /// them.
    pub fn serve_stdio(self) -> std::io::Result<()> {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        runtime.block_on(async move {
            let service = self.serve(rmcp::transport::stdio()).await.map_err(std::io::Error::other)?;
            service.waiting().await.map_err(std::io::Error::other)?;
            Ok(())
        })
    }

    /// Runs one tool call to its result text, or the error the model reads.
    pub fn call(&self, name: &str, arguments: Map<String, Value>) -> Result<String, CallError> {
        let request = ToolRequest::parse(name, arguments)?;
        let mut agent = self.agent.lock().map_err(|_| CallError::Failed)?;
        match request {
            ToolRequest::Search { query, k } => Ok(format_hits(&query, &agent.search(&query, k)?)),
            ToolRequest::Command(command) => Ok(agent.execute(&command)?),
        }
    }
}

/// A tool of the server, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ToolName {
    /// `memory_view`.
    View,
    /// `memory_create`.
    Create,
    /// `memory_str_replace`.
    StrReplace,
    /// `memory_insert`.
    Insert,
    /// `memory_delete`.
    Delete,
    /// `memory_rename`.
    Rename,
    /// `memory_search`.
    Search,
}

impl ToolName {
    /// Every tool, in the order they are listed.
    pub const ALL: [ToolName; 7] = [
        ToolName::View,
        ToolName::Create,
        ToolName::StrReplace,
        ToolName::Insert,
        ToolName::Delete,
        ToolName::Rename,
        ToolName::Search,
    ];

    /// The name MCP lists it under.
    pub fn as_str(self) -> &'static str {
        match self {
            ToolName::View => "memory_view",
            ToolName::Create => "memory_create",
            ToolName::StrReplace => "memory_str_replace",
            ToolName::Insert => "memory_insert",
            ToolName::Delete => "memory_delete",
            ToolName::Rename => "memory_rename",
            ToolName::Search => "memory_search",
        }
    }

    /// The tool named `name`, if the server has one.
    pub fn parse(name: &str) -> Option<ToolName> {
        ToolName::ALL.into_iter().find(|t| t.as_str() == name)
    }

    /// The memory-tool command the tool runs (`None` for search).
    fn command(self) -> Option<&'static str> {
        match self {
            ToolName::View => Some("view"),
            ToolName::Create => Some("create"),
            ToolName::StrReplace => Some("str_replace"),
            ToolName::Insert => Some("insert"),
            ToolName::Delete => Some("delete"),
            ToolName::Rename => Some("rename"),
            ToolName::Search => None,
        }
    }
}

/// One tool call with its arguments checked.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ToolRequest {
    /// `memory_search`: the `k` memories nearest `query`.
    Search {
        /// What to look for.
        query: String,
        /// How many hits (default [`DEFAULT_K`], at most [`MAX_K`]).
        k: usize,
    },
    /// One of the memory-tool commands.
    Command(Command),
}

impl ToolRequest {
    /// The request a call of tool `name` with `arguments` makes.
    pub fn parse(name: &str, arguments: Map<String, Value>) -> Result<ToolRequest, CallError> {
        let tool = ToolName::parse(name).ok_or_else(|| CallError::UnknownTool(name.to_owned()))?;
        let invalid = |message: String| CallError::InvalidArguments { message };
        let Some(command) = tool.command() else {
            let query = match arguments.get("query") {
                Some(Value::String(q)) => q.clone(),
                _ => return Err(invalid("memory_search needs `query`, a string".into())),
            };
            let k = match arguments.get("k") {
                None | Some(Value::Null) => DEFAULT_K,
                Some(v) => match v.as_u64() {
                    Some(k) => usize::try_from(k).unwrap_or(MAX_K).min(MAX_K),
                    None => {
                        return Err(invalid(
                            "`k` must be a whole number (how many memories to return)".into(),
                        ));
                    }
                },
            };
            return Ok(ToolRequest::Search { query, k });
        };
        let mut input = arguments;
        input.insert("command".into(), Value::String(command.into()));
        serde_json::from_value(Value::Object(input))
            .map(ToolRequest::Command)
            .map_err(|e| invalid(format!("invalid arguments for {name}: {e}")))
    }
}

/// Why a tool call failed: the text of its error result.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CallError {
    /// No tool has this name.
    #[error("unknown tool {0:?}")]
    UnknownTool(String),
    /// The arguments do not fit the tool's schema.
    #[error("{message}")]
    InvalidArguments {
        /// What is wrong, naming the tool or the argument.
        message: String,
    },
    /// The command was refused or failed.
    #[error(transparent)]
    Command(#[from] ToolError),
    /// The search failed.
    #[error(transparent)]
    Search(#[from] SearchError),
    /// An earlier call panicked while holding the store.
    #[error("the memory server failed earlier; restart it")]
    Failed,
}

/// One tool as listed.
struct ToolSpec {
    tool: ToolName,
    description: &'static str,
    read_only: bool,
    destructive: bool,
    schema: fn() -> Value,
}

const TOOLS: [ToolSpec; 7] = [
    ToolSpec {
        tool: ToolName::View,
        description: include_str!("tools/memory_view.md"),
        read_only: true,
        destructive: false,
        schema: || {
            object(
                json!({
                    "path": path_schema("File or directory, e.g. /memories or /memories/notes/ci.md."),
                    "view_range": {
                        "type": "array", "items": {"type": "integer"}, "minItems": 2, "maxItems": 2,
                        "description": "Optional [start, end] lines of a file, 1-based and inclusive; end -1 = last line."
                    }
                }),
                &["path"],
            )
        },
    },
    ToolSpec {
        tool: ToolName::Create,
        description: include_str!("tools/memory_create.md"),
        read_only: false,
        destructive: false,
        schema: || {
            object(
                json!({
                    "path": path_schema("The new file, e.g. /memories/preferences/indentation.md."),
                    "file_text": {"type": "string", "description": "The file's content."}
                }),
                &["path", "file_text"],
            )
        },
    },
    ToolSpec {
        tool: ToolName::StrReplace,
        description: include_str!("tools/memory_str_replace.md"),
        read_only: false,
        destructive: false,
        schema: || {
            object(
                json!({
                    "path": path_schema("The file to edit."),
                    "old_str": {"type": "string", "description": "Text that occurs exactly once in the file."},
                    "new_str": {"type": "string", "description": "The text that replaces it."}
                }),
                &["path", "old_str", "new_str"],
            )
        },
    },
    ToolSpec {
        tool: ToolName::Insert,
        description: include_str!("tools/memory_insert.md"),
        read_only: false,
        destructive: false,
        schema: || {
            object(
                json!({
                    "path": path_schema("The file to edit."),
                    "insert_line": {"type": "integer", "minimum": 0, "description": "Insert after this line; 0 = at the top."},
                    "insert_text": {"type": "string", "description": "The text to insert."}
                }),
                &["path", "insert_line", "insert_text"],
            )
        },
    },
    ToolSpec {
        tool: ToolName::Delete,
        description: include_str!("tools/memory_delete.md"),
        read_only: false,
        destructive: true,
        schema: || object(json!({"path": path_schema("The file or directory to delete.")}), &["path"]),
    },
    ToolSpec {
        tool: ToolName::Rename,
        description: include_str!("tools/memory_rename.md"),
        read_only: false,
        destructive: false,
        schema: || {
            object(
                json!({
                    "old_path": path_schema("The file or directory to move."),
                    "new_path": path_schema("Where to; must not exist yet.")
                }),
                &["old_path", "new_path"],
            )
        },
    },
    ToolSpec {
        tool: ToolName::Search,
        description: include_str!("tools/memory_search.md"),
        read_only: true,
        destructive: false,
        schema: || {
            object(
                json!({
                    "query": {"type": "string", "description": "What you are looking for, in a few words or a question."},
                    "k": {"type": "integer", "minimum": 1, "maximum": MAX_K, "description": "How many memories to return (default 5)."}
                }),
                &["query"],
            )
        },
    },
];

fn path_schema(description: &str) -> Value {
    json!({"type": "string", "pattern": "^/memories(/.*)?$", "description": description})
}

fn object(properties: Value, required: &[&str]) -> Value {
    json!({"type": "object", "properties": properties, "required": required, "additionalProperties": false})
}

/// The tools as MCP lists them.
pub fn tools() -> Vec<Tool> {
    TOOLS
        .iter()
        .map(|spec| {
            let schema = match (spec.schema)() {
                Value::Object(map) => map,
                _ => Map::new(),
            };
            let annotations = ToolAnnotations::new()
                .read_only(spec.read_only)
                .destructive(spec.destructive)
                .open_world(false);
            Tool::new(spec.tool.as_str(), spec.description, Arc::new(schema)).with_annotations(annotations)
        })
        .collect()
}

impl ServerHandler for MemoryServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("dreamwork", env!("CARGO_PKG_VERSION")))
            .with_instructions(INSTRUCTIONS)
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(tools()))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        if ToolName::parse(&request.name).is_none() {
            return Err(ErrorData::invalid_params(format!("unknown tool {:?}", request.name), None));
        }
        let server = self.clone();
        let name = request.name.to_string();
        let arguments = request.arguments.unwrap_or_default();
        let outcome = tokio::task::spawn_blocking(move || server.call(&name, arguments))
            .await
            .map_err(|e| ErrorData::internal_error(format!("tool call failed: {e}"), None))?;
        let result = match outcome {
            Ok(text) => CallToolResult::success(vec![ContentBlock::text(text)]),
            Err(error) => CallToolResult::error(vec![ContentBlock::text(error.to_string())]),
        };
        Ok(result.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embed::LexicalEmbedder;
    use crate::store::Store;

    fn server() -> (tempfile::TempDir, MemoryServer) {
        let dir = tempfile::tempdir().unwrap();
        drop(Store::create(dir.path()).unwrap());
        let agent = AgentStore::open(dir.path(), Box::new(LexicalEmbedder::default())).unwrap();
        (dir, MemoryServer::new(agent))
    }

    fn args(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => panic!("test arguments are objects"),
        }
    }

    #[test]
    fn every_tool_has_a_description_and_an_object_schema() {
        let tools = tools();
        let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
        assert_eq!(
            names,
            [
                "memory_view",
                "memory_create",
                "memory_str_replace",
                "memory_insert",
                "memory_delete",
                "memory_rename",
                "memory_search"
            ]
        );
        for tool in &tools {
            assert!(tool.description.as_ref().is_some_and(|d| d.len() > 100), "{}", tool.name);
            assert_eq!(tool.input_schema.get("type"), Some(&json!("object")), "{}", tool.name);
        }
    }

    #[test]
    fn every_tool_name_has_one_spec_and_parses_back() {
        assert_eq!(TOOLS.iter().map(|spec| spec.tool).collect::<Vec<_>>(), ToolName::ALL);
        for tool in ToolName::ALL {
            assert_eq!(ToolName::parse(tool.as_str()), Some(tool));
        }
        assert_eq!(ToolName::parse("view"), None);
    }

    #[test]
    fn calls_translate_to_commands_and_search() {
        let (_dir, server) = server();
        let created = server.call(
            "memory_create",
            args(
                json!({"path": "/memories/db.md", "file_text": "The staging database listens on port 5433."}),
            ),
        );
        assert_eq!(created.unwrap(), "File created successfully at: /memories/db.md");
        server
            .call(
                "memory_create",
                args(json!({"path": "/memories/lunch.md", "file_text": "Lunch is at noon."})),
            )
            .unwrap();
        let found =
            server.call("memory_search", args(json!({"query": "staging database port", "k": 1}))).unwrap();
        assert!(found.contains("\t/memories/db.md\tThe staging database"), "{found}");
        assert_eq!(found.lines().count(), 2);
        let refused = server.call("memory_view", args(json!({"path": "/etc"}))).unwrap_err();
        assert_eq!(refused.to_string(), "Path must start with /memories, got: /etc");
        let missing = server.call("memory_view", args(json!({}))).unwrap_err().to_string();
        assert!(missing.contains("missing field `path`"), "{missing}");
        assert!(server.call("memory_search", args(json!({"query": "x", "k": "many"}))).is_err());
        assert!(matches!(server.call("memory_fly", args(json!({}))), Err(CallError::UnknownTool(_))));
        assert!(server.call("memory_search", args(json!({}))).is_err());
    }
}
