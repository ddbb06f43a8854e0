"""The dashboard's pages, one module per thing shown; each holds an APIRouter named ``pages``."""
