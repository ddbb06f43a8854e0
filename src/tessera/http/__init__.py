"""HTTP plumbing shared by every router: transactions, auth, problem+json, request ids."""
