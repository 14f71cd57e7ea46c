// Experiment: an engine error raised in an attached provider reaches the CLI the same
// way as today (the gRPC error text goes into the run's Diagnostics). A role whose
// policy ARN does not exist makes iam:AttachUserPolicy fail; the error line is
// printed for a spawned provider and for an attached one.
//
//   bash scripts/with-tools.sh node scripts/experiments/errorMessageCheck.js
"use strict";
const path=require("path"),{spawn}=require("child_process"),{mkdtempSync,rmSync}=require("fs"),{randomBytes}=require("crypto");
const ROOT=process.env.AWSLEASE_ROOT?path.resolve(process.env.AWSLEASE_ROOT):path.resolve(__dirname,"../..");const CLI=path.join(ROOT,"bin/awslease.js");
const {startMoto}=require(path.join(ROOT,"dist/scripts/localMoto.js"));
const run=(args,env,stdin)=>new Promise(r=>{const c=spawn(process.execPath,[CLI,...args],{env});let o="",e="";c.stdout.on("data",d=>o+=d);c.stderr.on("data",d=>e+=d);c.on("close",code=>r({code,o,e}));c.stdin.end(stdin??"")});
(async()=>{const home=mkdtempSync(path.join(require("os").tmpdir(),"awslease-err-"));const moto=await startMoto();
const env={...process.env,AWSLEASE_HOME:home,PULUMI_CONFIG_PASSPHRASE:"x"};
let prov;try{
await run(["config","write","--access-key",moto.info.accessKey,"--secret-key-stdin","--region",moto.info.region,"--iam-endpoint",moto.info.endpoint,"--sts-endpoint",moto.info.endpoint,"-q"],env,moto.info.secretKey);
console.log(await run(["role","write","bad","--credential-type","iam_user","--policy-arns","arn:aws:iam::aws:policy/DoesNotExist","-q"],env));
const a=await run(["issue","bad","--no-wait","--format","json"],env);console.log("today:",a.code,a.e.trim().split("\n").slice(-3).join(" | "));
prov=spawn(process.execPath,[path.join(ROOT,"scripts/experiments/attachedProvider.js")],{env,stdio:["ignore","pipe","pipe"]});
let perr="";prov.stderr.on("data",d=>perr+=d);
const port=await new Promise(r=>prov.stdout.once("data",d=>r(Number(String(d).split("\n")[0]))));
const b=await run(["issue","bad","--no-wait","--format","json"],{...env,PULUMI_DEBUG_PROVIDERS:`pulumi-nodejs:${port}`});console.log("attached:",b.code,b.e.trim().split("\n").slice(-3).join(" | "));
console.log("attached provider stderr:",JSON.stringify(perr.slice(0,600)));
}finally{prov&&prov.kill();await moto.stop();rmSync(home,{recursive:true,force:true})}})();
