"""The REST calls, grouped by what they read or write; ``sync.jira.client.JiraClient`` combines them."""
