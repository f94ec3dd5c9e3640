"""The Gradio chat: presents what `assistant` answers."""
