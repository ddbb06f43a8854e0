"""Workspaces (one per brand), users with roles, password login, API keys and the audit log."""
