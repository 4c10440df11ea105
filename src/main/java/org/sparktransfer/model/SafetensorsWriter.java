package org.sparktransfer.model;

import org.nd4j.shade.jackson.databind.ObjectMapper;
import org.nd4j.shade.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/** Writes float32 tensors in the safetensors format (the counterpart of {@link SafetensorsReader}). */
public final class SafetensorsWriter {

    private SafetensorsWriter() {
    }

    public static void write(OutputStream out, Map<String, SafetensorsReader.Tensor> tensors) throws IOException {
        ObjectMapper om = new ObjectMapper();
        ObjectNode header = om.createObjectNode();
        header.putObject("__metadata__").put("format", "pt");
        long offset = 0;
        for (SafetensorsReader.Tensor t : tensors.values()) {
            if (t.data().length != t.numel()) {
                throw new IllegalArgumentException(t + ": " + t.data().length + " values for " + t.numel() + " elements");
            }
            ObjectNode e = header.putObject(t.name());
            e.put("dtype", "F32");
            e.putArray("shape").addAll(java.util.Arrays.stream(t.shape()).mapToObj(om.getNodeFactory()::numberNode).toList());
            e.putArray("data_offsets").add(offset).add(offset + 4L * t.data().length);
            offset += 4L * t.data().length;
        }
        byte[] h = om.writeValueAsString(header).getBytes(StandardCharsets.UTF_8);
        int padded = (h.length + 7) / 8 * 8; // data starts 8-byte aligned, padding is spaces
        ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded);
        out.write(len.array());
        out.write(h);
        out.write(" ".repeat(padded - h.length).getBytes(StandardCharsets.US_ASCII));
        for (SafetensorsReader.Tensor t : tensors.values()) {
            ByteBuffer b = ByteBuffer.allocate(4 * t.data().length).order(ByteOrder.LITTLE_ENDIAN);
            b.asFloatBuffer().put(t.data());
            out.write(b.array());
        }
    }
}
