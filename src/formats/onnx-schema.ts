// The part of ONNX's onnx.proto (IR version 10, proto2) this reader decodes, as a protobufjs JSON descriptor: field
// numbers and types as in the official schema, field names in camelCase. Fields not listed here (training info,
// functions, quantization annotations, sparse initializers' contents…) are skipped by the decoder as unknown fields.
import type { INamespace } from 'protobufjs/light.js';

const repeated = 'repeated';
const packed = { packed: true };

export const ONNX_SCHEMA: INamespace = {
  nested: {
    onnx: {
      nested: {
        StringStringEntryProto: { fields: { key: { type: 'string', id: 1 }, value: { type: 'string', id: 2 } } },
        OperatorSetIdProto: { fields: { domain: { type: 'string', id: 1 }, version: { type: 'int64', id: 2 } } },
        ModelProto: {
          fields: {
            irVersion: { type: 'int64', id: 1 },
            opsetImport: { rule: repeated, type: 'OperatorSetIdProto', id: 8 },
            producerName: { type: 'string', id: 2 },
            producerVersion: { type: 'string', id: 3 },
            domain: { type: 'string', id: 4 },
            modelVersion: { type: 'int64', id: 5 },
            docString: { type: 'string', id: 6 },
            graph: { type: 'GraphProto', id: 7 },
            metadataProps: { rule: repeated, type: 'StringStringEntryProto', id: 14 },
            // functions (25) are only counted, so that a model using local functions is reported, not misread.
            functions: { rule: repeated, type: 'FunctionProto', id: 25 },
          },
        },
        FunctionProto: { fields: { name: { type: 'string', id: 1 }, domain: { type: 'string', id: 10 } } },
        GraphProto: {
          fields: {
            node: { rule: repeated, type: 'NodeProto', id: 1 },
            name: { type: 'string', id: 2 },
            initializer: { rule: repeated, type: 'TensorProto', id: 5 },
            sparseInitializer: { rule: repeated, type: 'SparseTensorProto', id: 15 },
            docString: { type: 'string', id: 10 },
            input: { rule: repeated, type: 'ValueInfoProto', id: 11 },
            output: { rule: repeated, type: 'ValueInfoProto', id: 12 },
            valueInfo: { rule: repeated, type: 'ValueInfoProto', id: 13 },
          },
        },
        NodeProto: {
          fields: {
            input: { rule: repeated, type: 'string', id: 1 },
            output: { rule: repeated, type: 'string', id: 2 },
            name: { type: 'string', id: 3 },
            opType: { type: 'string', id: 4 },
            domain: { type: 'string', id: 7 },
            attribute: { rule: repeated, type: 'AttributeProto', id: 5 },
            docString: { type: 'string', id: 6 },
          },
        },
        AttributeProto: {
          fields: {
            name: { type: 'string', id: 1 },
            refAttrName: { type: 'string', id: 21 },
            docString: { type: 'string', id: 13 },
            type: { type: 'int32', id: 20 },
            f: { type: 'float', id: 2 },
            i: { type: 'int64', id: 3 },
            s: { type: 'bytes', id: 4 },
            t: { type: 'TensorProto', id: 5 },
            g: { type: 'GraphProto', id: 6 },
            sparseTensor: { type: 'SparseTensorProto', id: 22 },
            tp: { type: 'TypeProto', id: 14 },
            floats: { rule: repeated, type: 'float', id: 7, options: packed },
            ints: { rule: repeated, type: 'int64', id: 8, options: packed },
            strings: { rule: repeated, type: 'bytes', id: 9 },
            tensors: { rule: repeated, type: 'TensorProto', id: 10 },
            graphs: { rule: repeated, type: 'GraphProto', id: 11 },
            sparseTensors: { rule: repeated, type: 'SparseTensorProto', id: 23 },
            typeProtos: { rule: repeated, type: 'TypeProto', id: 15 },
          },
        },
        ValueInfoProto: {
          fields: { name: { type: 'string', id: 1 }, type: { type: 'TypeProto', id: 2 }, docString: { type: 'string', id: 3 } },
        },
        TypeProto: {
          fields: {
            tensorType: { type: 'TypeProtoTensor', id: 1 },
            sequenceType: { type: 'TypeProtoSequence', id: 4 },
            mapType: { type: 'TypeProtoMap', id: 5 },
            optionalType: { type: 'TypeProtoSequence', id: 9 },
            sparseTensorType: { type: 'TypeProtoTensor', id: 8 },
            denotation: { type: 'string', id: 6 },
          },
        },
        TypeProtoTensor: { fields: { elemType: { type: 'int32', id: 1 }, shape: { type: 'TensorShapeProto', id: 2 } } },
        TypeProtoSequence: { fields: { elemType: { type: 'TypeProto', id: 1 } } },
        TypeProtoMap: { fields: { keyType: { type: 'int32', id: 1 }, valueType: { type: 'TypeProto', id: 2 } } },
        TensorShapeProto: { fields: { dim: { rule: repeated, type: 'Dimension', id: 1 } } },
        Dimension: {
          oneofs: { value: { oneof: ['dimValue', 'dimParam'] } },
          fields: { dimValue: { type: 'int64', id: 1 }, dimParam: { type: 'string', id: 2 }, denotation: { type: 'string', id: 3 } },
        },
        TensorProto: {
          fields: {
            dims: { rule: repeated, type: 'int64', id: 1 },
            dataType: { type: 'int32', id: 2 },
            segment: { type: 'Segment', id: 3 },
            floatData: { rule: repeated, type: 'float', id: 4, options: packed },
            int32Data: { rule: repeated, type: 'int32', id: 5, options: packed },
            stringData: { rule: repeated, type: 'bytes', id: 6 },
            int64Data: { rule: repeated, type: 'int64', id: 7, options: packed },
            name: { type: 'string', id: 8 },
            docString: { type: 'string', id: 12 },
            rawData: { type: 'bytes', id: 9 },
            externalData: { rule: repeated, type: 'StringStringEntryProto', id: 13 },
            dataLocation: { type: 'int32', id: 14 },
            doubleData: { rule: repeated, type: 'double', id: 10, options: packed },
            uint64Data: { rule: repeated, type: 'uint64', id: 11, options: packed },
          },
        },
        Segment: { fields: { begin: { type: 'int64', id: 1 }, end: { type: 'int64', id: 2 } } },
        SparseTensorProto: { fields: { values: { type: 'TensorProto', id: 1 }, indices: { type: 'TensorProto', id: 2 }, dims: { rule: repeated, type: 'int64', id: 3 } } },
      },
    },
  },
};
