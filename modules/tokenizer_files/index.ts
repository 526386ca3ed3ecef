// Public face of modules/tokenizer_files: the tokenizer directory format (TokenizerManifest + tokenizer.json + .nxtok).
export {
  openTokenizer,
  TOKENIZER_HF_FILE,
  TOKENIZER_MANIFEST_FILE,
  TOKENIZER_MEDIA_TYPES,
  TOKENIZER_NATIVE_FILE,
  tokenizerFileRef,
  TokenizerFiles,
  writeTokenizerFiles,
} from "./tokenizer_files";
