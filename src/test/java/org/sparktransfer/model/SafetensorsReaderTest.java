package org.sparktransfer.model;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** Format-level checks that need no Python (the PyTorch-written files are covered by ResNetParityTest). */
class SafetensorsReaderTest {

    static byte[] file(String header, byte[] data) {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h).put(data);
        return b.array();
    }

    @Test
    void roundTripThroughWriter() throws IOException {
        Map<String, SafetensorsReader.Tensor> in = new LinkedHashMap<>();
        in.put("a.weight", new SafetensorsReader.Tensor("a.weight", "F32", new long[]{2, 3}, new float[]{1, -2, 3.5f, 0, -0f, Float.MIN_VALUE}));
        in.put("scalar", new SafetensorsReader.Tensor("scalar", "F32", new long[]{}, new float[]{42}));
        in.put("empty", new SafetensorsReader.Tensor("empty", "F32", new long[]{0, 4}, new float[0]));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        SafetensorsWriter.write(out, in);
        assertEquals(0, (out.size() - in.values().stream().mapToInt(t -> 4 * t.data().length).sum()) % 8);
        Map<String, SafetensorsReader.Tensor> back = SafetensorsReader.read(out.toByteArray(), "mem");
        assertEquals(in.keySet(), back.keySet());
        for (String k : in.keySet()) {
            assertArrayEquals(in.get(k).shape(), back.get(k).shape(), k);
            assertArrayEquals(in.get(k).data(), back.get(k).data(), k);
        }
    }

    @Test
    void halfConversions() {
        assertEquals(1.0f, SafetensorsReader.halfToFloat((short) 0x3c00));
        assertEquals(-2.0f, SafetensorsReader.halfToFloat((short) 0xc000));
        assertEquals(65504f, SafetensorsReader.halfToFloat((short) 0x7bff));
        assertEquals(0x1p-24f, SafetensorsReader.halfToFloat((short) 0x0001));
        assertEquals(Float.NEGATIVE_INFINITY, SafetensorsReader.halfToFloat((short) 0xfc00));
        assertTrue(Float.isNaN(SafetensorsReader.halfToFloat((short) 0x7e00)));
        assertEquals(Float.floatToRawIntBits(-0f), Float.floatToRawIntBits(SafetensorsReader.halfToFloat((short) 0x8000)));
    }

    static String error(byte[] bytes) {
        return assertThrows(IOException.class, () -> SafetensorsReader.read(bytes, "x.safetensors")).getMessage();
    }

    @Test
    void clearErrors() {
        assertTrue(error(new byte[3]).contains("truncated"));
        byte[] huge = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(1L << 40).array();
        assertTrue(error(huge).contains("header length"), error(huge));
        assertTrue(error(file("{not json", new byte[0])).contains("not valid JSON"));
        String m = error(file("{\"t\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", new byte[4]));
        assertTrue(m.contains("tensor 't'") && m.contains("[0,4]"), m);
        m = error(file("{\"t\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", new byte[6]));
        assertTrue(m.contains("truncated") && m.contains("needs 8 bytes") && m.contains("only 6"), m);
        m = error(file("{\"t\":{\"dtype\":\"C64\",\"shape\":[1],\"data_offsets\":[0,8]}}", new byte[8]));
        assertTrue(m.contains("tensor 't'") && m.contains("unsupported dtype 'C64'"), m);
        m = error(file("{\"t\":{\"dtype\":\"F32\"}}", new byte[0]));
        assertTrue(m.contains("needs dtype, shape and data_offsets"), m);
    }
}
