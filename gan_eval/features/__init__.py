"""Features: from preprocessed cases to embeddings.

    registry.py            the backbones (ids, dimensions, weights files), checked by id
    weights.py             where a backbone's weights come from, their fingerprint, their validation
    efficientnet_lite0.py  one file per backbone: its torch module, built from a state dict
    inception_v3.py        (imported only when a module is built: torch costs seconds to import,
    fid_inception.py        and a warm run, everything in the cache, never needs it)
    radiomic.py            the network-free radiomic feature space (gan_eval.radiomics) as a backbone
    normalised.py          the input normalisation that the ImageNet backbones share
    device.py              which device runs: one resolution for embedding and GAN training
    engines.py             torch and ONNX Runtime engines, the ONNX export and its checksum
    batching.py            cases -> batches -> features, with progress, prefetch and the store
    embed.py               the entry points: embed_cases, embed_archive
    loaders.py             embedding files computed elsewhere, loaded only when asked for
"""
