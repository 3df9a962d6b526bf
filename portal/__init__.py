"""The workspace pages (home, channels, wallets, usage export) and the demo seed: the top
layer, which may import every other app and which none of them imports."""
