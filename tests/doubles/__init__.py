"""Test doubles, not specs: local servers that speak the real protocols, so the project's
real clients are tested over real HTTP (`openai_server`: the OpenAI and Azure OpenAI HTTP
API; `azure_search_server`: the Azure AI Search REST API), and the bot test kit
(`botkit`: the real aiohttp app on a real port, a Bot Connector stand-in, Teams-shaped
activities).
"""
