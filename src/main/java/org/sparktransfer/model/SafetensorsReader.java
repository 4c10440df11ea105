package org.sparktransfer.model;

import org.nd4j.shade.jackson.databind.JsonNode;
import org.nd4j.shade.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads the safetensors format (https://github.com/huggingface/safetensors): an 8-byte little-endian header
 * length N, N bytes of JSON mapping tensor names to {dtype, shape, data_offsets}, then the raw little-endian
 * tensor bytes (offsets relative to the end of the header). Every tensor is converted to float32.
 */
public final class SafetensorsReader {

    /** Upper bound on the JSON header (the reference implementation uses 100 MB) against garbage lengths. */
    static final long MAX_HEADER = 100L << 20;

    private static final Map<String, Integer> DTYPE_SIZES = Map.of(
            "F32", 4, "F16", 2, "BF16", 2, "F64", 8,
            "I64", 8, "I32", 4, "I16", 2, "I8", 1, "U8", 1, "BOOL", 1);

    private SafetensorsReader() {
    }

    /** One tensor, converted to float32, row-major ("C" order) as stored. */
    public record Tensor(String name, String dtype, long[] shape, float[] data) {
        public long numel() {
            long n = 1;
            for (long d : shape) {
                n *= d;
            }
            return n;
        }

        @Override
        public String toString() {
            return name + " " + dtype + Arrays.toString(shape);
        }
    }

    public static Map<String, Tensor> read(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            return read(in, file.toString());
        }
    }

    public static Map<String, Tensor> read(byte[] bytes, String source) throws IOException {
        return read(new java.io.ByteArrayInputStream(bytes), source);
    }

    /**
     * Reads a whole safetensors stream (the stream is not closed). {@code source} names the file in errors.
     * Tensors keep the order of the header.
     */
    public static Map<String, Tensor> read(InputStream in, String source) throws IOException {
        byte[] lenBytes = in.readNBytes(8);
        if (lenBytes.length < 8) {
            throw new IOException(source + ": not a safetensors file: truncated (only " + lenBytes.length
                    + " bytes, the 8-byte header length is missing)");
        }
        long headerLen = ByteBuffer.wrap(lenBytes).order(ByteOrder.LITTLE_ENDIAN).getLong();
        if (headerLen <= 0 || headerLen > MAX_HEADER) {
            throw new IOException(source + ": not a safetensors file: header length " + headerLen
                    + " is outside 1.." + MAX_HEADER);
        }
        byte[] header = in.readNBytes((int) headerLen);
        if (header.length < headerLen) {
            throw new IOException(source + ": truncated safetensors file: header declares " + headerLen
                    + " bytes of JSON but only " + header.length + " remain");
        }
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(new String(header, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new IOException(source + ": not a safetensors file: header is not valid JSON: " + e.getMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new IOException(source + ": not a safetensors file: header is not a JSON object");
        }

        // Validate every entry before reading data so a bad header fails without allocating tensors.
        List<Entry> entries = new ArrayList<>();
        long dataLen = 0;
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> f = it.next();
            if (f.getKey().equals("__metadata__")) {
                continue;
            }
            Entry e = parseEntry(source, f.getKey(), f.getValue());
            entries.add(e);
            dataLen = Math.max(dataLen, e.end);
        }
        if (dataLen > Integer.MAX_VALUE - 16) {
            throw new IOException(source + ": tensor data of " + dataLen + " bytes exceeds 2 GB; not supported");
        }
        byte[] data = in.readNBytes((int) dataLen);
        if (data.length < dataLen) {
            throw new IOException(source + ": truncated safetensors file: tensor data needs " + dataLen
                    + " bytes after the header but only " + data.length + " remain");
        }
        ByteBuffer buf = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (Entry e : entries) {
            out.put(e.name, new Tensor(e.name, e.dtype, e.shape, decode(buf, e)));
        }
        return Collections.unmodifiableMap(out);
    }

    private record Entry(String name, String dtype, long[] shape, long begin, long end) {
    }

    private static Entry parseEntry(String source, String name, JsonNode n) throws IOException {
        String where = source + ": tensor '" + name + "'";
        if (!n.isObject() || !n.has("dtype") || !n.has("shape") || !n.has("data_offsets")) {
            throw new IOException(where + ": header entry needs dtype, shape and data_offsets, got " + n);
        }
        String dtype = n.get("dtype").asText();
        Integer size = DTYPE_SIZES.get(dtype);
        if (size == null) {
            throw new IOException(where + ": unsupported dtype '" + dtype + "' (supported: "
                    + String.join(", ", new java.util.TreeSet<>(DTYPE_SIZES.keySet())) + ")");
        }
        JsonNode s = n.get("shape");
        long[] shape = new long[s.size()];
        long numel = 1;
        for (int i = 0; i < shape.length; i++) {
            shape[i] = s.get(i).asLong(-1);
            if (shape[i] < 0) {
                throw new IOException(where + ": invalid shape " + s);
            }
            numel = Math.multiplyExact(numel, shape[i]);
        }
        JsonNode o = n.get("data_offsets");
        if (o.size() != 2) {
            throw new IOException(where + ": data_offsets must be [begin, end], got " + o);
        }
        long begin = o.get(0).asLong(-1);
        long end = o.get(1).asLong(-1);
        if (begin < 0 || end < begin || end - begin != numel * size) {
            throw new IOException(where + ": data_offsets " + o + " do not hold " + numel + " x " + dtype
                    + " (" + numel * size + " bytes) for shape " + s);
        }
        if (numel > Integer.MAX_VALUE - 16) {
            throw new IOException(where + ": " + numel + " elements exceed a Java array");
        }
        return new Entry(name, dtype, shape, begin, end);
    }

    private static float[] decode(ByteBuffer buf, Entry e) {
        int n = (int) ((e.end - e.begin) / DTYPE_SIZES.get(e.dtype));
        float[] out = new float[n];
        int p = (int) e.begin;
        for (int i = 0; i < n; i++) {
            out[i] = switch (e.dtype) {
                case "F32" -> buf.getFloat(p + 4 * i);
                case "F16" -> halfToFloat(buf.getShort(p + 2 * i));
                // bfloat16 is the upper half of a float32.
                case "BF16" -> Float.intBitsToFloat((buf.getShort(p + 2 * i) & 0xffff) << 16);
                case "F64" -> (float) buf.getDouble(p + 8 * i);
                case "I64" -> (float) buf.getLong(p + 8 * i);
                case "I32" -> (float) buf.getInt(p + 4 * i);
                case "I16" -> (float) buf.getShort(p + 2 * i);
                case "I8" -> (float) buf.get(p + i);
                case "U8", "BOOL" -> (float) (buf.get(p + i) & 0xff);
                default -> throw new IllegalStateException(e.dtype);
            };
        }
        return out;
    }

    /** IEEE 754 binary16 to float32, including subnormals, infinities and NaN (Java 17 has no Float.float16ToFloat). */
    static float halfToFloat(short h) {
        int bits = h & 0xffff;
        int sign = (bits & 0x8000) << 16;
        int exp = (bits >>> 10) & 0x1f;
        int mant = bits & 0x3ff;
        if (exp == 0x1f) {
            return Float.intBitsToFloat(sign | 0x7f800000 | (mant << 13));
        }
        if (exp == 0) {
            if (mant == 0) {
                return Float.intBitsToFloat(sign);
            }
            // Subnormal: value = mant * 2^-24, exact in float32.
            float v = mant * 0x1p-24f;
            return sign != 0 ? -v : v;
        }
        return Float.intBitsToFloat(sign | ((exp + 112) << 23) | (mant << 13));
    }
}
