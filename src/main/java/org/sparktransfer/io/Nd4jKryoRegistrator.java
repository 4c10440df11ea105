package org.sparktransfer.io;

import com.esotericsoftware.kryo.Kryo;
import org.apache.spark.serializer.KryoRegistrator;
import org.nd4j.kryo.Nd4jRegistrator;
import org.nd4j.linalg.factory.Nd4j;

/**
 * {@code spark.kryo.registrator} for the jobs: nd4j-kryo's registrations, with this backend's array class
 * serialized by {@link NdArrayKryoSerializer} (bulk copies) instead of element by element.
 */
public final class Nd4jKryoRegistrator implements KryoRegistrator {
    @Override
    public void registerClasses(Kryo kryo) {
        new Nd4jRegistrator().registerClasses(kryo);
        kryo.register(Nd4j.getBackend().getNDArrayClass(), new NdArrayKryoSerializer());
    }
}
