package org.sparktransfer.deploy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Validates a parsed YAML document against a CRD's openAPIV3Schema, for the keywords the
 * spark-operator CRDs use: type, required, properties, additionalProperties, items, enum, anyOf,
 * minimum/maximum, pattern, nullable and the x-kubernetes-int-or-string / preserve-unknown-fields
 * extensions. Fields the schema does not declare are errors, as with kubectl's default strict field
 * validation (the API server would otherwise drop them silently: a typo like {@code gpus:} loses the
 * setting without a word).
 */
final class OpenApiSchema {
    private final JsonNode root;

    private OpenApiSchema(JsonNode root) {
        this.root = root;
    }

    static OpenApiSchema load(String resource) {
        try (InputStream in = OpenApiSchema.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException("missing test resource " + resource);
            }
            return new OpenApiSchema(new ObjectMapper().readTree(in));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Every violation as "path: problem"; empty when the document is valid. */
    List<String> validate(Object document) {
        List<String> errors = new ArrayList<>();
        check(root, document, "", errors);
        return errors;
    }

    private static void check(JsonNode schema, Object value, String path, List<String> errors) {
        String at = path.isEmpty() ? "<root>" : path;
        if (value == null) {
            if (!schema.path("nullable").asBoolean(false)) {
                errors.add(at + ": null is not allowed");
            }
            return;
        }
        if (schema.has("anyOf")) {
            boolean any = false;
            for (JsonNode alternative : schema.get("anyOf")) {
                List<String> sub = new ArrayList<>();
                check(alternative, value, path, sub);
                any |= sub.isEmpty();
            }
            if (!any) {
                errors.add(at + ": matches none of " + schema.get("anyOf"));
                return;
            }
        }
        if (schema.path("x-kubernetes-int-or-string").asBoolean(false)) {
            if (!(isInteger(value) || value instanceof String)) {
                errors.add(at + ": expected an integer or a string, got " + describe(value));
            }
            return;
        }
        String type = schema.path("type").asText("");
        switch (type) {
            case "object" -> checkObject(schema, value, path, at, errors);
            case "array" -> {
                if (!(value instanceof List<?> list)) {
                    errors.add(at + ": expected an array, got " + describe(value));
                    return;
                }
                JsonNode items = schema.get("items");
                for (int i = 0; i < list.size() && items != null; i++) {
                    check(items, list.get(i), path + "[" + i + "]", errors);
                }
            }
            case "string" -> {
                if (!(value instanceof String s)) {
                    errors.add(at + ": expected a string, got " + describe(value)
                            + (isInteger(value) || value instanceof Boolean ? " (quote it)" : ""));
                    return;
                }
                if (schema.has("pattern") && !Pattern.compile(schema.get("pattern").asText()).matcher(s).find()) {
                    errors.add(at + ": '" + s + "' does not match " + schema.get("pattern").asText());
                }
            }
            case "integer" -> {
                if (!isInteger(value)) {
                    errors.add(at + ": expected an integer, got " + describe(value));
                    return;
                }
                checkRange(schema, new BigInteger(value.toString()).doubleValue(), at, errors);
            }
            case "number" -> {
                if (!(value instanceof Number n)) {
                    errors.add(at + ": expected a number, got " + describe(value));
                    return;
                }
                checkRange(schema, n.doubleValue(), at, errors);
            }
            case "boolean" -> {
                if (!(value instanceof Boolean)) {
                    errors.add(at + ": expected true or false, got " + describe(value));
                }
            }
            case "" -> { }
            default -> errors.add(at + ": schema type '" + type + "' is not supported by this validator");
        }
        if (schema.has("enum")) {
            boolean listed = false;
            for (JsonNode e : schema.get("enum")) {
                listed |= e.isTextual() ? e.asText().equals(value) : e.toString().equals(String.valueOf(value));
            }
            if (!listed) {
                errors.add(at + ": '" + value + "' is not one of " + schema.get("enum"));
            }
        }
    }

    private static void checkObject(JsonNode schema, Object value, String path, String at, List<String> errors) {
        if (!(value instanceof Map<?, ?> map)) {
            errors.add(at + ": expected an object, got " + describe(value));
            return;
        }
        for (JsonNode r : schema.path("required")) {
            if (!map.containsKey(r.asText())) {
                errors.add(at + ": required field '" + r.asText() + "' is missing");
            }
        }
        JsonNode properties = schema.get("properties");
        JsonNode additional = schema.get("additionalProperties");
        boolean preserveUnknown = schema.path("x-kubernetes-preserve-unknown-fields").asBoolean(false);
        for (Map.Entry<?, ?> e : map.entrySet()) {
            String key = String.valueOf(e.getKey());
            String child = path.isEmpty() ? key : path + "." + key;
            if (properties != null && properties.has(key)) {
                check(properties.get(key), e.getValue(), child, errors);
            } else if (additional != null && additional.isObject()) {
                check(additional, e.getValue(), child, errors);
            } else if (properties != null && !preserveUnknown && !(additional != null && additional.asBoolean(false))) {
                errors.add(child + ": unknown field (not in the CRD schema" + suggestion(properties, key) + ")");
            }
        }
    }

    private static void checkRange(JsonNode schema, double v, String at, List<String> errors) {
        if (schema.has("minimum") && v < schema.get("minimum").asDouble()) {
            errors.add(at + ": " + v + " is below the minimum " + schema.get("minimum"));
        }
        if (schema.has("maximum") && v > schema.get("maximum").asDouble()) {
            errors.add(at + ": " + v + " is above the maximum " + schema.get("maximum"));
        }
    }

    private static String suggestion(JsonNode properties, String key) {
        for (Iterator<String> it = properties.fieldNames(); it.hasNext(); ) {
            String known = it.next();
            if (known.equalsIgnoreCase(key) || known.startsWith(key) || key.startsWith(known)) {
                return "; did you mean '" + known + "'?";
            }
        }
        return "";
    }

    private static boolean isInteger(Object v) {
        return v instanceof Integer || v instanceof Long || v instanceof BigInteger || v instanceof Short;
    }

    private static String describe(Object v) {
        return v.getClass().getSimpleName() + " " + (v instanceof String ? "'" + v + "'" : String.valueOf(v));
    }
}
