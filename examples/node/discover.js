// Calls Docket from Node with nothing but server reflection: lists the services, loads their
// definitions from the server, and calls one method of each.
//
//   DOCKET_ADDR=127.0.0.1:50051 DOCKET_TOKEN=dkt_... node discover.js
//
// The definitions are built from the file descriptors exactly as the server sends them.
// grpc-js-reflection-client's own getPackageObject() cannot load Docket's services ("duplicate id
// 51000 in Type .google.protobuf.MethodOptions"): it rebuilds the descriptors through protobuf.js'
// toDescriptor(), which emits every custom option (Docket's `required_scope`, or google.api.http)
// twice (protobuf.js issues #1072, #1080). Docket's answers hold each file once.
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');
const { GrpcReflection } = require('grpc-js-reflection-client');
const { FileDescriptorProto, FileDescriptorSet } = require('protobufjs/ext/descriptor');

const target = process.env.DOCKET_ADDR || '127.0.0.1:50051';
const token = process.env.DOCKET_TOKEN;

// Every file the services need, each once, fetched by the names their imports give.
async function descriptors(reflection, services) {
  const files = new Map();
  const add = async (encoded) => {
    for (const bytes of encoded) {
      const file = FileDescriptorProto.decode(bytes);
      if (files.has(file.name)) continue;
      files.set(file.name, file);
      for (const dependency of file.dependency || []) {
        if (!files.has(dependency)) await add(await reflection.getProtoDescriptorByFileName(dependency));
      }
    }
  };
  for (const service of services) await add(await reflection.getProtoDescriptorBySymbol(service));
  return Buffer.from(FileDescriptorSet.encode({ file: [...files.values()] }).finish());
}

function call(client, method, request, metadata) {
  return new Promise((resolve, reject) => {
    if (client[method].responseStream) {
      const items = [];
      client[method](request, metadata).on('data', (item) => items.push(item))
        .on('error', reject).on('end', () => resolve(`${items.length} streamed`));
    } else {
      client[method](request, metadata, (error, response) => (error ? reject(error) : resolve(JSON.stringify(response))));
    }
  });
}

(async () => {
  const reflection = new GrpcReflection(target, grpc.credentials.createInsecure());
  const services = (await reflection.listServices()).filter((name) => name.startsWith('docket.'));
  const definition = protoLoader.loadFileDescriptorSetFromBuffer(await descriptors(reflection, services), {
    keepCase: true, longs: String, enums: String, defaults: true,
  });
  const docket = grpc.loadPackageDefinition(definition).docket.v1;
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${token}`);
  // One call of each service.
  const calls = [
    ['WorkspaceService', 'GetWorkspace', {}],
    ['TaskService', 'CountTasks', {}],
    ['AssignmentService', 'GetMyAssignmentsSummary', {}],
    ['DirectoryService', 'ListUsers', {}],
    ['TaskTemplateService', 'ListTaskTemplates', {}],
    ['WebhookService', 'ListWebhooks', {}],
  ];
  for (const service of services) {
    const methods = Object.keys(definition[service]).length;
    const [, method, request] = calls.find(([name]) => `docket.v1.${name}` === service) || [];
    const Client = docket[service.split('.').pop()];
    const result = method
      ? await call(new Client(target, grpc.credentials.createInsecure()), method, request, metadata)
      : 'no call';
    console.log(`${service} (${methods} methods) ${method}: ${result}`);
  }
})().catch((error) => {
  console.error(error.message || error);
  process.exit(1);
});
