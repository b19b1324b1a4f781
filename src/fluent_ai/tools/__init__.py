"""Tools: typed Python functions the model can call, their schemas and their execution."""
