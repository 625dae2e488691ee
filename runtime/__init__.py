"""The FastAPI + SGLang inference runtime HelixFlow deploys. Never imports Pulumi."""
