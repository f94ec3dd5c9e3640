"""The Gradio web UI: presents what `assistant` and `kulturplan` give it, one module per tab."""
