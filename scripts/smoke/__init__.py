"""The flows of scripts/smoke_mcp.py: `core` (transcript, sandboxes, sessions) and one module
per vibn MCP server, each exposing `async flow(a, scratch)`."""
