/** The strict DingTalk robot stand-in; `fedstack up` runs it too, so it lives with the local stack. */
export * from '../../../deploy/local/stand-ins/dingtalk.ts';
