"""breachcomms: breach-response communication orchestrator."""
