import hashlib, base64
def h(s): return base64.b32encode(hashlib.sha256(s.encode()).digest()).decode()
def chain(name, proto="tcp"): return h(name+proto)[:16]
def sep(name, ep, proto="tcp"): return h(name+proto+ep)[:16]
def nft(name): return h(name)[:8]
