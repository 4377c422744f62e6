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

use super::memory_tool::Command;
use super::{AgentStore, INSTRUCTIONS, format_hits};

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

    /// Runs one tool call to its result text (`Err` for an error result).
    pub fn call(&self, name: &str, arguments: Map<String, Value>) -> Result<String, String> {
        let mut agent =
            self.agent.lock().map_err(|_| "the memory server failed earlier; restart it".to_owned())?;
        if name == "memory_search" {
            let query = match arguments.get("query") {
                Some(Value::String(q)) => q.clone(),
                _ => return Err("memory_search needs `query`, a string".into()),
            };
            let k = match arguments.get("k") {
                None | Some(Value::Null) => DEFAULT_K,
                Some(v) => match v.as_u64() {
                    Some(k) => usize::try_from(k).unwrap_or(MAX_K).min(MAX_K),
                    None => return Err("`k` must be a whole number (how many memories to return)".into()),
                },
            };
            let hits = agent.search(&query, k).map_err(|e| e.to_string())?;
            return Ok(format_hits(&query, &hits));
        }
        if !TOOLS.iter().any(|t| t.name == name) {
            return Err(format!("unknown tool {name:?}"));
        }
        // The other tools are the memory-tool commands, one each.
        let command = name.strip_prefix("memory_").unwrap_or(name);
        let mut input = arguments;
        input.insert("command".into(), Value::String(command.into()));
        let command: Command = serde_json::from_value(Value::Object(input))
            .map_err(|e| format!("invalid arguments for {name}: {e}"))?;
        agent.execute(&command).map_err(|e| e.to_string())
    }
}

/// One tool as listed.
struct ToolSpec {
    name: &'static str,
    description: &'static str,
    read_only: bool,
    destructive: bool,
    schema: fn() -> Value,
}

const TOOLS: [ToolSpec; 7] = [
    ToolSpec {
        name: "memory_view",
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
        name: "memory_create",
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
        name: "memory_str_replace",
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
        name: "memory_insert",
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
        name: "memory_delete",
        description: include_str!("tools/memory_delete.md"),
        read_only: false,
        destructive: true,
        schema: || object(json!({"path": path_schema("The file or directory to delete.")}), &["path"]),
    },
    ToolSpec {
        name: "memory_rename",
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
        name: "memory_search",
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
            Tool::new(spec.name, spec.description, Arc::new(schema)).with_annotations(annotations)
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
        if !TOOLS.iter().any(|t| t.name == request.name) {
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
            Err(text) => CallToolResult::error(vec![ContentBlock::text(text)]),
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
        assert_eq!(refused, "Path must start with /memories, got: /etc");
        assert!(server.call("memory_view", args(json!({}))).unwrap_err().contains("missing field `path`"));
        assert!(server.call("memory_search", args(json!({"query": "x", "k": "many"}))).is_err());
        assert!(server.call("memory_fly", args(json!({}))).is_err());
        assert!(server.call("memory_search", args(json!({}))).is_err());
    }
}
