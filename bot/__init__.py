"""supportbot: the chat backend, agent console and evaluation."""
