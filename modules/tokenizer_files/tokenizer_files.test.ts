import { TOKENIZER_HF_FILE, TOKENIZER_NATIVE_FILE, tokenizerFileRef } from "./index";

describe("tokenizer file references", () => {
  it("carry digest, size and the media type of each tokenizer file", () => {
    const hf = tokenizerFileRef(TOKENIZER_HF_FILE, Buffer.from("{}"));
    expect(hf).toMatchObject({ path: "tokenizer.json", sizeBytes: 2, mediaType: "application/json" });
    expect(hf.digest).toBe("sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a");
    expect(tokenizerFileRef(TOKENIZER_NATIVE_FILE, new Uint8Array(3)).mediaType).toBe(
      "application/vnd.nexa.tokenizer+binary",
    );
    expect(tokenizerFileRef("other.bin", new Uint8Array(0)).mediaType).toBe("application/octet-stream");
  });
});
