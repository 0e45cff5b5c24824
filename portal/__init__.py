"""The Karabakh library books portal: catalog store, web app and command line."""
