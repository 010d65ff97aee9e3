#!/usr/bin/env bash
# Install everything and launch the dashboard on the built-in demo workspace.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install -q -r requirements.txt
exec python3 -m streamlit run app.py "$@"
